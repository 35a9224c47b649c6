--[[
  Appends one sealed message to a mailbox in one atomic step (PROTOCOL §4): registration check,
  idempotency, TTL trim, quota over live entries, XADD, notify. Being one script, concurrent sends
  at the quota cannot overshoot it and a re-sent command cannot store twice.

  Input:
    KEYS[1] inbox stream                dd:{a}:inbox
    KEYS[2] agent hash                  dd:{a}:agent
    KEYS[3] idempotency record          dd:{a}:idem:<key>
    KEYS[4] notification channel        dd:{a}:notify (published to; listed for the key prefix)
    ARGV[1] ciphertext (b64u)
    ARGV[2] decoded ciphertext bytes
    ARGV[3] SHA-256 of the ciphertext, hex (a fixed marker under a relay-made key)
    ARGV[4] ttl in ms: message lifetime, and how long the idempotency record is kept
    ARGV[5] quota: max live messages

  Output:
    {'no-mailbox'} | {'conflict'} | {'full', count} | {'duplicate', id} | {'stored', id, after}
    `after`: the newest unexpired entry id before this one ('0-0' for none).
    The entry holds only the ciphertext and its size: nothing about the sender.
]]
--- @include "expiry"

local inbox, agent, idem, channel = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local ciphertext, bytes, hash = ARGV[1], ARGV[2], ARGV[3]
local ttlMs, quota = tonumber(ARGV[4]), tonumber(ARGV[5])

if redis.call('HEXISTS', agent, 'key') == 0 then
  return {'no-mailbox'}
end

local previous = redis.call('GET', idem)
if previous then
  local previousHash, previousId = string.match(previous, '^(%x+) (%S+)$')
  if previousHash == hash then
    return {'duplicate', previousId}
  end
  return {'conflict'}
end

trimExpired(inbox, agent, ttlMs)

local count = redis.call('XLEN', inbox)
if count >= quota then
  return {'full', count}
end

-- The newest entry left after the trim, so this relay process can hand the new message straight to
-- its own readers whose cursor is already there.
local newest = redis.call('XREVRANGE', inbox, '+', '-', 'COUNT', 1)[1]
local after = newest and newest[1] or '0-0'
local id = redis.call('XADD', inbox, '*', 'c', ciphertext, 'b', bytes)
redis.call('HINCRBY', agent, 'bytes', bytes)
redis.call('SET', idem, hash .. ' ' .. id, 'PX', ttlMs)
redis.call('PUBLISH', channel, id)
return {'stored', id, after}
