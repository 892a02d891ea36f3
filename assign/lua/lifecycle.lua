-- Lifecycle. KEYS: nodes, gone visitors, unanswered chats. ARGV[6..]:
-- visitor timeout, idle close, first-response timeout, recheck interval
-- (ms; 0 turns a limit off), batch size.
-- 1. A node whose heartbeat stopped for longer than the TTL died: its
--    visitor sockets no longer count; a visitor with none left is gone
--    from that node's last heartbeat.
-- 2. Gone visitors' chats past a limit: queued past the visitor timeout,
--    active past idle close.
-- 3. Assigned chats without an answer past the first-response timeout.
-- A chat reported is not reported again within the recheck interval, so
-- nodes running this at once do not act twice. Reply: groups of kind
-- ('offline', 'queued_left', 'idle', 'unanswered'), chat, visitor or agent
-- id, moment (ms: left, or assigned).
local VT, IC, FR, RECHECK, BATCH = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9]), tonumber(ARGV[10])
local r = {}
local function add(kind, chat, id, at)
  r[#r + 1], r[#r + 2], r[#r + 3], r[#r + 4] = kind, chat, id, int(at)
end

for _, node in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', int(NOW - TTL), 'LIMIT', 0, BATCH)) do
  local hb = tonumber(redis.call('ZSCORE', KEYS[1], node))
  for _, v in ipairs(redis.call('SMEMBERS', k_nodevis(node))) do
    redis.call('HDEL', k_vsock(v), node)
    if redis.call('HLEN', k_vsock(v)) == 0 then
      local chat = redis.call('GET', k_vchat(v))
      if chat and redis.call('ZADD', KEYS[2], 'NX', hb, v) == 1 then
        add('offline', chat, v, hb)
      end
    end
  end
  redis.call('DEL', k_nodevis(node))
  redis.call('ZREM', KEYS[1], node)
end

local function due(chat)
  local last = tonumber(redis.call('HGET', k_chat(chat), 'checked') or '0')
  if NOW - last < RECHECK then return false end
  redis.call('HSET', k_chat(chat), 'checked', ARGV[2])
  return true
end

if VT > 0 or IC > 0 then
  local first = VT
  if first == 0 or (IC > 0 and IC < first) then first = IC end
  -- Scanned further than reported: gone visitors not due yet (an active
  -- chat before its idle limit) must not hide the ones that are.
  local gone = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', int(NOW - first), 'WITHSCORES', 'LIMIT', 0, 10 * BATCH)
  local found = 0
  for i = 1, #gone, 2 do
    local v, left = gone[i], tonumber(gone[i + 1])
    local chat = redis.call('GET', k_vchat(v))
    local ag = chat and redis.call('HGET', k_chat(chat), 'agent')
    if found >= BATCH then break end
    if not ag then
      redis.call('ZREM', KEYS[2], v) -- no open chat: nothing to wait for
    elseif ag == '' then
      if VT > 0 and NOW - left >= VT and due(chat) then
        add('queued_left', chat, v, left)
        found = found + 1
      end
    elseif IC > 0 and NOW - left >= IC and due(chat) then
      add('idle', chat, v, left)
      found = found + 1
    end
  end
end

if FR > 0 then
  for _, chat in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', int(NOW - FR), 'LIMIT', 0, BATCH)) do
    local c = redis.call('HMGET', k_chat(chat), 'agent', 'at', 'frcheck')
    if not c[1] or c[1] == '' then
      redis.call('ZREM', KEYS[3], chat)
    elseif NOW - (tonumber(c[3]) or 0) >= RECHECK then
      redis.call('HSET', k_chat(chat), 'frcheck', ARGV[2])
      add('unanswered', chat, c[1], tonumber(c[2]) or 0)
    end
  end
end
return r
