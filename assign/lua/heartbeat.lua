-- Heartbeat. KEYS: heartbeats, disconnects. ARGV[6..]: agent ids.
-- Unknown agents are skipped: only SetPresence registers an agent.
for i = 6, #ARGV do
  if redis.call('EXISTS', k_agent(ARGV[i])) == 1 then
    came_back(ARGV[i])
    redis.call('ZADD', KEYS[1], ARGV[2], ARGV[i])
    redis.call('ZREM', KEYS[2], ARGV[i])
    index(agent(ARGV[i]))
  end
end
return {'ok'}
