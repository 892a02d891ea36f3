-- SetPresence. KEYS: agent hash, agent's units set, heartbeats, disconnects,
-- known units. ARGV[6..]: agent id, name, status, max chats, units...
local id = ARGV[6]
local before = agent(id)
local was_lapsed = lapsed(id)
local units = set_units(id, KEYS[2], KEYS[5], 10)
redis.call('HSET', KEYS[1], 'name', ARGV[7], 'status', ARGV[8], 'max', ARGV[9])
-- Coming online (from away, offline, or a connection lapsed past the
-- grace) starts the time the agent has been free; setting online again
-- (a console after a reconnect within the grace, or one whose socket
-- already brought the agent back) does not.
if ARGV[8] == 'online' and not (before and before.status == 'online' and not was_lapsed) then
  redis.call('HSET', KEYS[1], 'since', ARGV[2])
end
redis.call('ZADD', KEYS[3], ARGV[2], id)
redis.call('ZREM', KEYS[4], id)
index(agent(id))
local out = {}
drain(units, out)
return reply(out)
