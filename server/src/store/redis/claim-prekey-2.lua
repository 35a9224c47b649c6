--[[
  Removes and returns an agent's oldest one-time prekey (PROTOCOL §10). One script, so two claims
  never get the same prekey, on one Redis or across relay processes. It reads the agent hash in
  the same step: an agent the store does not hold (a lost store) is `no-agent`, whatever a relay
  process has cached, not an agent with none left.

  Input:
    KEYS[1] agent hash                  dd:{a}:agent
    KEYS[2] prekey list                 dd:{a}:prekeys (oldest first; entries "<id> <key> <sig>")

  Output:
    { remaining, entry }  |  { remaining } when none was left  |  'no-agent'
]]
if redis.call('HEXISTS', KEYS[1], 'key') == 0 then
  return 'no-agent'
end
local entry = redis.call('LPOP', KEYS[2])
local remaining = redis.call('LLEN', KEYS[2])
if entry then
  return { remaining, entry }
end
return { remaining }
