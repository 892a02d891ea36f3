-- VisitorConnected. KEYS: the visitor's sockets, nodes, the node's visitors.
-- ARGV[6..]: visitor id, node. One socket of the visitor opened on that
-- node. Reply: {'ok', the visitor's open chat or '', the moment they had
-- left (ms) or '' when they were not gone}: a visitor coming back.
redis.call('HINCRBY', KEYS[1], ARGV[7], 1)
redis.call('SADD', KEYS[3], ARGV[6])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[7])
local left = redis.call('ZSCORE', K_VGONE, ARGV[6])
if not left then return {'ok', '', ''} end
redis.call('ZREM', K_VGONE, ARGV[6])
gone_index(ARGV[6])
return {'ok', redis.call('GET', k_vchat(ARGV[6])) or '', int(tonumber(left))}
