-- NodeHeartbeat. KEYS: nodes. ARGV[6..]: node, then visitor id and open
-- sockets pairs. Keeps the node's visitor sockets counted. A node the
-- lifecycle took for dead (its heartbeats stopped for longer than the TTL)
-- is not in the set: it then restates its sockets, given as pairs.
-- Reply: {'ok', '1' when the node was known, else '0'}.
local known = redis.call('ZSCORE', KEYS[1], ARGV[6])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[6])
if known then return {'ok', '1'} end
for i = 7, #ARGV - 1, 2 do
  local v = ARGV[i]
  redis.call('HSET', k_vsock(v), ARGV[6], ARGV[i + 1])
  redis.call('SADD', k_nodevis(ARGV[6]), v)
  redis.call('ZREM', K_VGONE, v)
  gone_index(v)
end
return {'ok', '0'}
