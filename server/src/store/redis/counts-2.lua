--[[
  Live message count, bytes and id range of one mailbox. Trims first so expired messages are
  neither counted nor kept.

  Input:
    KEYS[1] inbox stream                dd:{a}:inbox
    KEYS[2] agent hash                  dd:{a}:agent
    ARGV[1] ttl in ms

  Output:
    {count, bytes, oldestId, newestId}, ids '' when the mailbox is empty ('' rather than false,
    which RESP3 would turn into a boolean).
]]
--- @include "expiry"

local inbox, agent = KEYS[1], KEYS[2]
trimExpired(inbox, agent, tonumber(ARGV[1]))

local count = redis.call('XLEN', inbox)
if count == 0 then
  -- An empty mailbox holds no bytes: resetting here heals any drift in the running total.
  if redis.call('HEXISTS', agent, 'key') == 1 then
    redis.call('HSET', agent, 'bytes', 0)
  end
  return {0, 0, '', ''}
end
local bytes = tonumber(redis.call('HGET', agent, 'bytes') or '0')
local oldest = redis.call('XRANGE', inbox, '-', '+', 'COUNT', 1)
local newest = redis.call('XREVRANGE', inbox, '+', '-', 'COUNT', 1)
return {count, bytes, oldest[1][1], newest[1][1]}
