--[[
  Rotates an agent's key (PROTOCOL §10) as one compare-and-set: only while the stored key is the
  step's old key, the key is replaced and the step appended to the history, the last ARGV[4] kept.
  Two racing rotations from the same key: the first to run wins, the other finds another key.

  Input:
    KEYS[1] agent hash                  dd:{a}:agent
    KEYS[2] rotation history list       dd:{a}:rotations
    KEYS[3] one-time prekeys list       dd:{a}:prekeys (deleted: the old key signed them)
    ARGV[1] old key (the step's)
    ARGV[2] new key
    ARGV[3] the step as JSON text
    ARGV[4] how many steps to keep

  Output:
    'rotated' | 'no-agent' | 'key-mismatch'
]]
local stored = redis.call('HGET', KEYS[1], 'key')
if not stored then
  return 'no-agent'
end
if stored ~= ARGV[1] then
  return 'key-mismatch'
end
redis.call('HSET', KEYS[1], 'key', ARGV[2])
redis.call('RPUSH', KEYS[2], ARGV[3])
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[4]), -1)
-- The old key signed the prekeys held: senders verify against the new one, so they go with it.
redis.call('DEL', KEYS[3])
return 'rotated'
