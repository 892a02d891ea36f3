-- Connected. KEYS: heartbeats, disconnects, agent's sockets. ARGV[6]: agent
-- id, ARGV[7]: node. A socket of the agent opened on that node: it counts
-- as a heartbeat and ends a pending disconnect; after a lapse, an agent
-- whose status is online comes online again (came_back). Counting sockets
-- per node lets an agent with consoles on two nodes close one without
-- losing chats.
redis.call('HINCRBY', KEYS[3], ARGV[7], 1)
local out = {}
if redis.call('EXISTS', k_agent(ARGV[6])) == 1 then
  came_back(ARGV[6])
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[6])
  redis.call('ZREM', KEYS[2], ARGV[6])
  index(agent(ARGV[6]))
  -- An agent back online (status restored) takes waiting chats at once.
  drain(redis.call('SMEMBERS', k_agent_units(ARGV[6])), out)
end
return reply(out)
