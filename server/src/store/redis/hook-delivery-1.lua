--[[
  Records one notice attempt on the webhook it was sent for (PROTOCOL §9): nothing when the hook
  is gone or was set again since (another createdAt). A delivery resets the failure count; a
  failure adds one and disables the hook at the cap.

  Input:
    KEYS[1] webhook hash                dd:{a}:hook
    ARGV[1] createdAt of the hook the notice was sent for
    ARGV[2] when the attempt ended, ms
    ARGV[3] the receiver's HTTP status, '' for none
    ARGV[4] '1' delivered, '0' failed
    ARGV[5] failure cap

  Output:
    the hash's fields as HGETALL lists them after the update, or {} when nothing was recorded
]]
if redis.call('HGET', KEYS[1], 'createdAt') ~= ARGV[1] then
  return {}
end
redis.call('HSET', KEYS[1], 'lastDeliveryAt', ARGV[2], 'lastStatus', ARGV[3])
if ARGV[4] == '1' then
  redis.call('HSET', KEYS[1], 'failures', 0)
else
  local failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
  if failures >= tonumber(ARGV[5]) then
    redis.call('HSET', KEYS[1], 'disabled', '1')
  end
end
return redis.call('HGETALL', KEYS[1])
