-- SetCapacity. KEYS: agent hash, agent's units set. ARGV[6]: max chats.
if redis.call('EXISTS', KEYS[1]) == 0 then return {'notfound'} end
redis.call('HSET', KEYS[1], 'max', ARGV[6])
local out = {}
drain(redis.call('SMEMBERS', KEYS[2]), out)
return reply(out)
