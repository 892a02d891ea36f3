-- Restore. KEYS: chat hash, agent's chats, arrival counter, known units.
-- ARGV[6..]: chat id, unit, priority, agent id, visitor id. Records that a
-- chat the database holds as active is the agent's, when Redis does not
-- know the chat (an embedded Redis starts empty). A chat it knows is left
-- alone. The chat's first-response clock does not restart: its agent had
-- it before.
if redis.call('EXISTS', KEYS[1]) == 1 then return {'ok'} end
local base = int(-tonumber(ARGV[8]) * PRIO + redis.call('INCR', KEYS[3]))
redis.call('HSET', KEYS[1], 'unit', ARGV[7], 'prio', ARGV[8], 'base', base, 'enq', ARGV[2], 'agent', ARGV[9], 'at', ARGV[2])
redis.call('SADD', KEYS[2], ARGV[6])
index(agent(ARGV[9]))
redis.call('SADD', KEYS[4], ARGV[7])
track_visitor(ARGV[6], ARGV[10])
return {'ok'}
