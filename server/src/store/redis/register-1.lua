--[[
  Registers an agent's key under its id, once: the same key again is idempotent, another key is
  refused (rotation is a later, signed feature).

  Input:
    KEYS[1] agent hash                  dd:{a}:agent
    ARGV[1] agent key
    ARGV[2] registeredAt, ms

  Output:
    {'created' | 'existing' | 'conflict', storedKey, storedRegisteredAt}
]]
local stored = redis.call('HMGET', KEYS[1], 'key', 'registeredAt')
if stored[1] then
  if stored[1] == ARGV[1] then
    return {'existing', stored[1], stored[2]}
  end
  return {'conflict', stored[1], stored[2]}
end
redis.call('HSET', KEYS[1], 'key', ARGV[1], 'registeredAt', ARGV[2], 'bytes', 0)
return {'created', ARGV[1], ARGV[2]}
