--[[
  Sets a mailbox's webhook (PROTOCOL §9), replacing any before it with fresh bookkeeping, when the
  agent is registered.

  Input:
    KEYS[1] agent hash                  dd:{a}:agent
    KEYS[2] webhook hash                dd:{a}:hook
    ARGV[1] url
    ARGV[2] secret
    ARGV[3] createdAt, ms

  Output:
    1 when set, 0 when no agent is registered under the id
]]
if redis.call('HEXISTS', KEYS[1], 'key') == 0 then
  return 0
end
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[2], 'url', ARGV[1], 'secret', ARGV[2], 'createdAt', ARGV[3],
  'lastDeliveryAt', '', 'lastStatus', '', 'failures', 0, 'disabled', '0')
return 1
