--[[
  Token buckets (rate limits), the same arithmetic as server/src/limits/token-bucket.ts: a hash
  { t = tokens, at = ms } refilled at `perMs` tokens a millisecond up to `capacity`, judged with the
  server's clock. A bucket that would be full again expires, so idle clients cost nothing.
]]
local function bucketNowMs()
  local time = redis.call('TIME')
  return tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
end

-- Tokens in `key` at `now`; an unknown bucket is full.
local function bucketTokens(key, capacity, perMs, now)
  local state = redis.call('HMGET', key, 't', 'at')
  local tokens, at = tonumber(state[1]), tonumber(state[2])
  if tokens == nil or at == nil then return capacity end
  return math.min(capacity, tokens + math.max(0, now - at) * perMs)
end

-- Milliseconds until a bucket holding `tokens` holds `cost`.
local function bucketWait(tokens, cost, perMs)
  return math.max(1, math.ceil((cost - tokens) / perMs))
end

local function bucketSpend(key, tokens, cost, capacity, perMs, now)
  local left = tokens - cost
  redis.call('HSET', key, 't', string.format('%.6f', left), 'at', string.format('%.0f', now))
  redis.call('PEXPIRE', key, math.ceil((capacity - left) / perMs) + 1000)
end
