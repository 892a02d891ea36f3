-- NoResponse. KEYS: chat hash. ARGV[6..]: chat id, agent id, moment of
-- the assignment (ms). The agent left the chat unanswered: unless it has
-- moved since (another agent, another assignment), it goes back to the
-- head of its queue, that agent may not take it again while another agent
-- of the unit is online, and the queues are drained. Reply as every
-- mutating script; the chat's own entry has requeued '1', from the agent
-- and rule 'no_response'. {'notfound'} when it moved.
local chat, ag = ARGV[6], ARGV[7]
local c = redis.call('HMGET', KEYS[1], 'unit', 'agent', 'at', 'base')
if not c[1] or c[2] ~= ag or c[3] ~= ARGV[8] then return {'notfound'} end
redis.call('ZREM', K_UNANSWERED, chat)
redis.call('SREM', k_agent_chats(ag), chat)
index(agent(ag))
redis.call('SADD', k_excl(chat), ag)
redis.call('HSET', KEYS[1], 'agent', '', 'enq', ARGV[2])
redis.call('ZADD', k_queue(c[1]), int(tonumber(c[4]) - HEAD), chat)
gone_moved(chat)
local units = {c[1]}
for _, u in ipairs(redis.call('SMEMBERS', k_agent_units(ag))) do
  if u ~= c[1] then units[#units + 1] = u end
end
local out = {}
drain(units, out)
requeued(out, {[chat] = ag}, {chat}, {[chat] = c[1]}, 'no_response')
return reply(out)
