--[[
  Deletes listed messages from one mailbox and counts those that existed (expired ones are trimmed
  first, so they do not count). The stream is kept even when emptied, so ids never go back.

  Input:
    KEYS[1] inbox stream                dd:{a}:inbox
    KEYS[2] agent hash                  dd:{a}:agent
    ARGV[1] ttl in ms
    ARGV[2..n] ids "<ms>-<seq>", already validated

  Output:
    number of messages deleted
]]
--- @include "expiry"

local inbox, agent = KEYS[1], KEYS[2]
trimExpired(inbox, agent, tonumber(ARGV[1]))

local deleted, freed = 0, 0
for i = 2, #ARGV do
  local found = redis.call('XRANGE', inbox, ARGV[i], ARGV[i])
  if #found == 1 then
    local fields = found[1][2]
    for f = 1, #fields, 2 do
      if fields[f] == 'b' then freed = freed + tonumber(fields[f + 1]) end
    end
    deleted = deleted + redis.call('XDEL', inbox, ARGV[i])
  end
end
if deleted > 0 and redis.call('HEXISTS', agent, 'key') == 1 then
  redis.call('HINCRBY', agent, 'bytes', -freed)
end
return deleted
