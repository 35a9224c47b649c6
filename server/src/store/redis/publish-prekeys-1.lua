--[[
  Adds one-time prekeys after an agent's others (PROTOCOL §10), all or none: refused when the agent
  would hold more than the cap, or when an id or key is held already or repeats in the call (a key
  published twice would let one secret open two messages).

  Input:
    KEYS[1] prekey list                 dd:{a}:prekeys (oldest first; entries "<id> <key> <sig>")
    ARGV[1] the most the agent may hold
    ARGV[2..] the new entries, "<id> <key> <sig>" (b64u text: no spaces)

  Output:
    { 'stored', added, total }  |  { 'full', held }  |  { 'duplicate', id }
]]
local max = tonumber(ARGV[1])
local held = redis.call('LRANGE', KEYS[1], 0, -1)
local adding = #ARGV - 1
if #held + adding > max then
  return { 'full', #held }
end
-- Ids (11 characters) and keys (43) cannot be mistaken for each other in one table.
local seen = {}
for _, entry in ipairs(held) do
  local id, key = string.match(entry, '^(%S+) (%S+) ')
  if id then
    seen[id] = true
    seen[key] = true
  end
end
for i = 2, #ARGV do
  local id, key = string.match(ARGV[i], '^(%S+) (%S+) ')
  if not id or seen[id] or seen[key] then
    return { 'duplicate', id or '' }
  end
  seen[id] = true
  seen[key] = true
end
redis.call('RPUSH', KEYS[1], unpack(ARGV, 2))
return { 'stored', adding, #held + adding }
