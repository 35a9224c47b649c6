--[[
  Records a mailbox proof's nonce, only while the directory still holds the agent under the key the
  proof was verified with (PROTOCOL §10 "Re-registration"): the store, not a relay process's cache,
  decides whether an agent exists and which key it has, in the one round trip auth already makes.

  Input:
    KEYS[1] agent hash                  dd:{a}:agent
    KEYS[2] nonce                       dd:{a}:nonce:<nonce>
    ARGV[1] agent key the proof was verified with
    ARGV[2] how long to keep the nonce, ms (from when this runs)

  Output:
    'fresh' | 'replayed' | 'unknown-agent' | 'key-changed'
]]
local key = redis.call('HGET', KEYS[1], 'key')
if not key then
  return 'unknown-agent'
end
if key ~= ARGV[1] then
  return 'key-changed'
end
if redis.call('SET', KEYS[2], '1', 'PX', ARGV[2], 'NX') then
  return 'fresh'
end
return 'replayed'
