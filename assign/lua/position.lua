-- Position (read only). KEYS: chat hash. ARGV[6]: chat id.
-- Reply: {'notfound'} or {'ok', unit, position (0 = not queued), handling
-- sum (ms), handling count, capacity}.
local unit = redis.call('HGET', KEYS[1], 'unit')
if not unit then return {'notfound'} end
local rank = redis.call('ZRANK', k_queue(unit), ARGV[6])
if not rank then return {'ok', unit, '0', '0', '0', '0'} end
local sum, n = handling(unit)
return {'ok', unit, int(rank + 1), int(sum), int(n), int(capacity(unit))}
