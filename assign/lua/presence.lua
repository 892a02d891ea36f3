-- SetPresence. KEYS: agent hash, agent's units set, heartbeats, disconnects,
-- known units. ARGV[6..]: agent id, name, status, max chats, units...
local id = ARGV[6]
for _, u in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  redis.call('SREM', k_unit_agents(u), id)
end
redis.call('DEL', KEYS[2])
local units = {}
for i = 10, #ARGV do
  local u = ARGV[i]
  units[#units + 1] = u
  redis.call('SADD', KEYS[2], u)
  redis.call('SADD', k_unit_agents(u), id)
  redis.call('SADD', KEYS[5], u)
end
redis.call('HSET', KEYS[1], 'name', ARGV[7], 'status', ARGV[8], 'max', ARGV[9])
redis.call('ZADD', KEYS[3], ARGV[2], id)
redis.call('ZREM', KEYS[4], id)
local out = {}
drain(units, out)
return reply(out)
