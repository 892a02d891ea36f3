-- Queue (read only). KEYS: unit queue. ARGV[6]: unit.
-- Reply: handling sum (ms), handling count, capacity, then chat, priority,
-- enqueue time (ms)...
-- An empty queue needs no wait estimate: capacity reads every agent.
local chats = redis.call('ZRANGE', KEYS[1], 0, -1)
if #chats == 0 then return {'0', '0', '0'} end
local sum, n = handling(ARGV[6])
local r = {int(sum), int(n), int(capacity(ARGV[6]))}
for _, chat in ipairs(chats) do
  r[#r + 1] = chat
  local f = redis.call('HMGET', k_chat(chat), 'prio', 'enq')
  r[#r + 1] = f[1] or '0'
  r[#r + 1] = f[2] or '0'
end
return r
