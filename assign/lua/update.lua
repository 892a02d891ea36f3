-- Update. KEYS: agent hash, agent's units set, known units. ARGV[6..]: agent
-- id, name, max chats, units... Changes a known agent's name, capacity and
-- units without touching its status or liveness, then drains its units.
if redis.call('EXISTS', KEYS[1]) == 0 then return {'notfound'} end
local units = set_units(ARGV[6], KEYS[2], KEYS[3], 9)
redis.call('HSET', KEYS[1], 'name', ARGV[7], 'max', ARGV[8])
index(agent(ARGV[6]))
local out = {}
drain(units, out)
return reply(out)
