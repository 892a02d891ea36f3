-- Sweep. KEYS: heartbeats, disconnects, known units.
-- Agents disconnected for the grace period, or silent for it (their node
-- stopped answering: the grace counts from the last heartbeat, and is at
-- least the TTL, before which they still count as live) lose their chats to
-- the head of the queues and their liveness entries. Then every unit is
-- drained: this also serves agents whose heartbeat lapsed and came back,
-- which Heartbeat itself does not drain.
local lost = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', int(NOW - math.max(TTL, GRACE)))
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', int(NOW - GRACE))) do
  lost[#lost + 1] = id
end

local requeued_units, owner, order = {}, {}, {}
for _, id in ipairs(lost) do
  local set = k_agent_chats(id)
  for _, chat in ipairs(redis.call('SMEMBERS', set)) do
    local key = k_chat(chat)
    local c = redis.call('HMGET', key, 'unit', 'base')
    redis.call('HSET', key, 'agent', '', 'enq', ARGV[2])
    redis.call('ZADD', k_queue(c[1]), int(tonumber(c[2]) - HEAD), chat)
    gone_moved(chat)
    requeued_units[chat] = c[1]
    redis.call('ZREM', K_UNANSWERED, chat)
    owner[chat] = id
    order[#order + 1] = chat
  end
  redis.call('DEL', set)
  redis.call('DEL', k_sockets(id)) -- counts left by a node that died
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZREM', KEYS[2], id)
  index(agent(id))
end

local out = {}
drain(redis.call('SMEMBERS', KEYS[3]), out)
requeued(out, owner, order, requeued_units, 'agent_unavailable')
return reply(out)
