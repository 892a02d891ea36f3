-- Update. KEYS: agent hash, agent's units set, known units. ARGV[6..]: agent
-- id, name, max chats, units... Changes a known agent's name, capacity and
-- units without touching its status or liveness, then drains its units.
if redis.call('EXISTS', KEYS[1]) == 0 then return {'notfound'} end
local id = ARGV[6]
for _, u in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  redis.call('SREM', k_unit_agents(u), id)
end
redis.call('DEL', KEYS[2])
local units = {}
for i = 9, #ARGV do
  local u = ARGV[i]
  units[#units + 1] = u
  redis.call('SADD', KEYS[2], u)
  redis.call('SADD', k_unit_agents(u), id)
  redis.call('SADD', KEYS[3], u)
end
redis.call('HSET', KEYS[1], 'name', ARGV[7], 'max', ARGV[8])
local out = {}
drain(units, out)
return reply(out)
