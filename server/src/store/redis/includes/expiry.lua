--[[
  Expiry helpers shared by the mailbox scripts. Times come from the server's clock, the same clock
  that stamps stream ids, so relay processes with skewed clocks still agree on what has expired.

  A message whose id has ms part `m` expires at m + ttlMs: it is live while now < m + ttlMs, i.e.
  when m >= now - ttlMs + 1.
]]
local function oldestLiveMs(ttlMs)
  local time = redis.call('TIME')
  local nowMs = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
  return nowMs - ttlMs + 1
end

-- The smallest live id; %.0f because tostring() would switch to exponent notation.
local function oldestLiveId(ttlMs)
  return string.format('%.0f-0', oldestLiveMs(ttlMs))
end

-- Removes expired entries from `inbox` and takes their bytes off the agent's `bytes` total.
-- The stream itself is kept even when emptied: Redis remembers its last id, so ids never go back.
-- Entries are summed in batches so a large expired backlog never lands in memory at once.
local function trimExpired(inbox, agent, ttlMs)
  local minId = oldestLiveId(ttlMs)
  local batchSize = 100
  local removed, freed = 0, 0
  local start = '-'
  while true do
    local batch = redis.call('XRANGE', inbox, start, '(' .. minId, 'COUNT', batchSize)
    for _, entry in ipairs(batch) do
      local fields = entry[2]
      for i = 1, #fields, 2 do
        if fields[i] == 'b' then freed = freed + tonumber(fields[i + 1]) end
      end
    end
    removed = removed + #batch
    if #batch < batchSize then break end
    start = '(' .. batch[#batch][1]
  end
  if removed > 0 then
    redis.call('XTRIM', inbox, 'MINID', minId)
    if redis.call('HEXISTS', agent, 'key') == 1 then
      redis.call('HINCRBY', agent, 'bytes', -freed)
    end
  end
  return removed
end
