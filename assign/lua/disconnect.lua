-- Disconnected. KEYS: agent hash, disconnects, agent's sockets. ARGV[6]: agent
-- id, ARGV[7]: node. One socket of the agent closed on that node; only when
-- no node holds one any more does the grace period start. NX keeps the
-- first moment, so repeated calls do not extend the grace.
local left = redis.call('HINCRBY', KEYS[3], ARGV[7], -1)
if left <= 0 then
  redis.call('HDEL', KEYS[3], ARGV[7])
end
if redis.call('HLEN', KEYS[3]) == 0 and redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('ZADD', KEYS[2], 'NX', ARGV[2], ARGV[6])
  index(agent(ARGV[6]))
end
return {'ok'}
