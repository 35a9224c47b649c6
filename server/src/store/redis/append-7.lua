--[[
  Appends one sealed message to a mailbox in one atomic step (PROTOCOL §4): registration check,
  idempotency, TTL trim, rate limits, quota over live entries, XADD, notify; and whether the mailbox
  has an active webhook, so a send pays no extra round trip to learn it. Being one script,
  concurrent sends at the quota cannot overshoot it, a re-sent command cannot store twice, and only
  a stored message spends rate-limit tokens.

  Input:
    KEYS[1] inbox stream                dd:{a}:inbox
    KEYS[2] agent hash                  dd:{a}:agent
    KEYS[3] idempotency record          dd:{a}:idem:<key>
    KEYS[4] notification channel        dd:{a}:notify (published to; listed for the key prefix)
    KEYS[5] mailbox rate bucket         dd:{a}:rate
    KEYS[6] sender rate bucket          dd:{a}:rate:<client address>
    KEYS[7] webhook hash                dd:{a}:hook
    ARGV[1] ciphertext (b64u)
    ARGV[2] decoded ciphertext bytes
    ARGV[3] SHA-256 of the ciphertext, hex (a fixed marker under a relay-made key); stored as
            '<hash> <id>' in the idempotency record
    ARGV[4] ttl in ms: message lifetime, and how long the idempotency record is kept
    ARGV[5] quota: max live messages
    ARGV[6], ARGV[7] mailbox bucket: capacity (0: no limit), tokens added per ms
    ARGV[8], ARGV[9] sender bucket: capacity (0: no limit), tokens added per ms
    ARGV[10] '1' on a cluster: notify with SPUBLISH (sharded pub/sub), else PUBLISH

  Output:
    {'no-mailbox'} | {'conflict'} | {'full', count} | {'duplicate', id} | {'stored', id, after, hooked}
    | {'rate-limited', 'sender' | 'mailbox', ms until a token}
    `after`: the newest unexpired entry id before this one ('0-0' for none).
    `hooked`: '1' when the mailbox has a webhook that is not disabled, else '0'.
    The entry holds only the ciphertext and its size: nothing about the sender.
]]
--- @include "expiry"
--- @include "token-bucket"

local inbox, agent, idem, channel = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local ciphertext, bytes, hash = ARGV[1], ARGV[2], ARGV[3]
local ttlMs, quota = tonumber(ARGV[4]), tonumber(ARGV[5])
local buckets = {
  { name = 'sender', key = KEYS[6], capacity = tonumber(ARGV[8]), perMs = tonumber(ARGV[9]) },
  { name = 'mailbox', key = KEYS[5], capacity = tonumber(ARGV[6]), perMs = tonumber(ARGV[7]) },
}

if redis.call('HEXISTS', agent, 'key') == 0 then
  return {'no-mailbox'}
end

local previous = redis.call('GET', idem)
if previous then
  -- Split at the last space: the id never holds one, and the hash may be any text (a client
  -- key's SHA-256 hex, or the relay-made key's marker), so a re-sent command meets its own record.
  local previousHash, previousId = string.match(previous, '^(.*) (%S+)$')
  if previousHash == hash then
    return {'duplicate', previousId}
  end
  return {'conflict'}
end

trimExpired(inbox, agent, ttlMs)

-- The sender's own limit first: it is the one to report when both are spent.
local now = bucketNowMs()
for _, bucket in ipairs(buckets) do
  if bucket.capacity > 0 then
    bucket.tokens = bucketTokens(bucket.key, bucket.capacity, bucket.perMs, now)
    if bucket.tokens < 1 then
      return {'rate-limited', bucket.name, bucketWait(bucket.tokens, 1, bucket.perMs)}
    end
  end
end

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
for _, bucket in ipairs(buckets) do
  if bucket.capacity > 0 then
    bucketSpend(bucket.key, bucket.tokens, 1, bucket.capacity, bucket.perMs, now)
  end
end
redis.call(ARGV[10] == '1' and 'SPUBLISH' or 'PUBLISH', channel, id)
local hooked = redis.call('HGET', KEYS[7], 'disabled') == '0' and '1' or '0'
return {'stored', id, after, hooked}
