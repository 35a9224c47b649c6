--[[
  Takes tokens from one rate-limit bucket (per client address: calls, subscriptions,
  registrations), shared by every relay process on this Redis.

  Input:
    KEYS[1] bucket    dd:rl:{<address>}:<name>
    ARGV[1] capacity
    ARGV[2] tokens added per ms
    ARGV[3] cost (at most capacity)

  Output: 0 when taken, else the ms until the bucket holds `cost` (nothing is taken then).
]]
--- @include "token-bucket"

local key = KEYS[1]
local capacity, perMs, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local now = bucketNowMs()
local tokens = bucketTokens(key, capacity, perMs, now)
if tokens < cost then
  return bucketWait(tokens, cost, perMs)
end
bucketSpend(key, tokens, cost, capacity, perMs, now)
return 0
