-- Queue (read only). KEYS: unit queue. ARGV[6]: unit.
-- Reply: handling sum (ms), handling count, capacity, then chat, priority...
-- An empty queue needs no wait estimate: capacity reads every agent.
local chats = redis.call('ZRANGE', KEYS[1], 0, -1)
if #chats == 0 then return {'0', '0', '0'} end
local sum, n = handling(ARGV[6])
local r = {int(sum), int(n), int(capacity(ARGV[6]))}
for _, chat in ipairs(chats) do
  r[#r + 1] = chat
  r[#r + 1] = redis.call('HGET', k_chat(chat), 'prio') or '0'
end
return r
