-- SetCapacity. KEYS: agent hash, agent's units set. ARGV[6]: max chats,
-- ARGV[7]: agent id.
if redis.call('EXISTS', KEYS[1]) == 0 then return {'notfound'} end
redis.call('HSET', KEYS[1], 'max', ARGV[6])
index(agent(ARGV[7]))
local out = {}
drain(redis.call('SMEMBERS', KEYS[2]), out)
return reply(out)
