--[[
  Removes expired messages from one mailbox; the periodic sweep runs it for idle mailboxes.

  Input:
    KEYS[1] inbox stream                dd:{a}:inbox
    KEYS[2] agent hash                  dd:{a}:agent
    ARGV[1] ttl in ms

  Output:
    number of messages removed
]]
--- @include "expiry"

return trimExpired(KEYS[1], KEYS[2], tonumber(ARGV[1]))
