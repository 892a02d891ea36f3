-- SetPresence. KEYS: agent hash, agent's units set, heartbeats, disconnects,
-- known units. ARGV[6..]: agent id, name, status, max chats, units...
local id = ARGV[6]
local before = agent(id)
local units = set_units(id, KEYS[2], KEYS[5], 10)
redis.call('HSET', KEYS[1], 'name', ARGV[7], 'status', ARGV[8], 'max', ARGV[9])
-- Coming online (from away, offline, or gone past the heartbeat) starts
-- the time the agent has been free; a console setting online again after
-- a reconnect does not.
if ARGV[8] == 'online' and not (before and before.online) then
  redis.call('HSET', KEYS[1], 'since', ARGV[2])
end
redis.call('ZADD', KEYS[3], ARGV[2], id)
redis.call('ZREM', KEYS[4], id)
index(agent(id))
local out = {}
drain(units, out)
return reply(out)
