-- VisitorDisconnected. KEYS: the visitor's sockets, the node's visitors.
-- ARGV[6..]: visitor id, node. One socket of the visitor closed on that
-- node; when no node holds one any more and the visitor has an open chat,
-- they are gone from now. Reply: {'ok', the open chat or '', the moment
-- they left (ms) or '' when they are still connected somewhere}.
local left = redis.call('HINCRBY', KEYS[1], ARGV[7], -1)
if left <= 0 then
  redis.call('HDEL', KEYS[1], ARGV[7])
  redis.call('SREM', KEYS[2], ARGV[6])
end
if redis.call('HLEN', KEYS[1]) > 0 then return {'ok', '', ''} end
local chat = redis.call('GET', k_vchat(ARGV[6]))
if not chat then return {'ok', '', ''} end
redis.call('ZADD', K_VGONE, 'NX', ARGV[2], ARGV[6])
gone_index(ARGV[6])
return {'ok', chat, int(tonumber(redis.call('ZSCORE', K_VGONE, ARGV[6])))}
