-- Lifecycle. KEYS: nodes, gone visitors, unanswered chats. ARGV[6..]:
-- visitor timeout, idle close, first-response timeout, recheck interval
-- (ms; 0 turns a limit off), batch size.
-- 1. A node whose heartbeat stopped for longer than the TTL died: its
--    visitor sockets no longer count; a visitor with none left is gone
--    from that node's last heartbeat.
-- 2. Gone visitors' chats past a limit: queued past the visitor timeout,
--    active past idle close. Each limit scans only the gone visitors whose
--    chat is in the state it applies to (K_VGONE_Q, K_VGONE_A), so visitors
--    a limit that is off (0) would never close cannot fill the window and
--    hide those that are due.
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
        gone_index(v)
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

-- Gone visitors recorded before the split are filed once.
local K_SPLIT = P .. 'vgone:split'
if redis.call('EXISTS', K_SPLIT) == 0 then
  for _, v in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do gone_index(v) end
  redis.call('SET', K_SPLIT, '1')
end

-- scan reports up to BATCH chats of the gone visitors in set (left before
-- NOW - limit) as kind. Scanned further than reported: chats reported
-- within the recheck, and not acted on (an idle chat with a message of
-- its visitor unanswered), must not hide the others.
local function scan(set, limit, kind, queued)
  local gone = redis.call('ZRANGEBYSCORE', set, '-inf', int(NOW - limit), 'WITHSCORES', 'LIMIT', 0, 10 * BATCH)
  local found = 0
  for i = 1, #gone, 2 do
    if found >= BATCH then break end
    local v, left = gone[i], tonumber(gone[i + 1])
    local chat = redis.call('GET', k_vchat(v))
    local ag = chat and redis.call('HGET', k_chat(chat), 'agent')
    if not ag or (ag == '') ~= queued then
      if not ag then redis.call('ZREM', KEYS[2], v) end -- no open chat: nothing to wait for
      gone_index(v) -- dropped, or filed under the other state
    elseif due(chat) then
      add(kind, chat, v, left)
      found = found + 1
    end
  end
end

if VT > 0 then scan(K_VGONE_Q, VT, 'queued_left', true) end
if IC > 0 then scan(K_VGONE_A, IC, 'idle', false) end

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
