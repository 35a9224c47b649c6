--[[
  Reads live messages strictly after a cursor, oldest first.

  Input:
    KEYS[1] inbox stream                dd:{a}:inbox
    ARGV[1] cursor "<ms>-<seq>", exclusive ("0-0" for everything)
    ARGV[2] max entries
    ARGV[3] ttl in ms

  Output:
    XRANGE reply: {{id, {'c', ciphertext, 'b', bytes}}, ...}
]]
--- @include "expiry"

local minMs = oldestLiveMs(tonumber(ARGV[3]))
local afterMs = tonumber(string.match(ARGV[1], '^(%d+)-'))
local start
if afterMs < minMs then
  -- Everything up to the cursor has expired: start at the expiry boundary instead.
  start = string.format('%.0f-0', minMs)
else
  start = '(' .. ARGV[1]
end
return redis.call('XRANGE', KEYS[1], start, '+', 'COUNT', ARGV[2])
