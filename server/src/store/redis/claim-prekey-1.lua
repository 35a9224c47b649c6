--[[
  Removes and returns an agent's oldest one-time prekey (PROTOCOL §10). One script, so two claims
  never get the same prekey, on one Redis or across relay processes.

  Input:
    KEYS[1] prekey list                 dd:{a}:prekeys (oldest first; entries "<id> <key> <sig>")

  Output:
    { remaining, entry }  |  { remaining } when none was left
]]
local entry = redis.call('LPOP', KEYS[1])
local remaining = redis.call('LLEN', KEYS[1])
if entry then
  return { remaining, entry }
end
return { remaining }
