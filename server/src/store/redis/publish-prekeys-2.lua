--[[
  Adds one-time prekeys after an agent's others (PROTOCOL §10), all or none, only while the
  directory still holds the agent under the key the relay verified them with: a rotation that ran
  after that check deleted the held prekeys (rotate-3.lua), and must not see prekeys its old key
  signed come back. Refused too when the agent would hold more than the cap, or when an id or key
  is held already or repeats in the call (a key published twice would let one secret open two
  messages).

  Input:
    KEYS[1] agent hash                  dd:{a}:agent
    KEYS[2] prekey list                 dd:{a}:prekeys (oldest first; entries "<id> <key> <sig>")
    ARGV[1] agent key the prekeys were verified with
    ARGV[2] the most the agent may hold
    ARGV[3..] the new entries, "<id> <key> <sig>" (b64u text: no spaces)

  Output:
    { 'stored', added, total }  |  { 'full', held }  |  { 'duplicate', id }
    |  { 'no-agent' }  |  { 'key-changed' }
]]
local key = redis.call('HGET', KEYS[1], 'key')
if not key then
  return { 'no-agent' }
end
if key ~= ARGV[1] then
  return { 'key-changed' }
end
local max = tonumber(ARGV[2])
local held = redis.call('LRANGE', KEYS[2], 0, -1)
local adding = #ARGV - 2
if #held + adding > max then
  return { 'full', #held }
end
-- Ids (11 characters) and keys (43) cannot be mistaken for each other in one table.
local seen = {}
for _, entry in ipairs(held) do
  local id, prekey = string.match(entry, '^(%S+) (%S+) ')
  if id then
    seen[id] = true
    seen[prekey] = true
  end
end
for i = 3, #ARGV do
  local id, prekey = string.match(ARGV[i], '^(%S+) (%S+) ')
  if not id or seen[id] or seen[prekey] then
    return { 'duplicate', id or '' }
  end
  seen[id] = true
  seen[prekey] = true
end
redis.call('RPUSH', KEYS[2], unpack(ARGV, 3))
return { 'stored', adding, #held + adding }
