-- Enqueue. KEYS: chat hash, unit queue, arrival counter, known units.
-- ARGV[6..]: chat id, unit, priority, visitor id ('' when not tracked).
local unit = ARGV[7]
if redis.call('EXISTS', KEYS[1]) == 0 then
  local base = int(-tonumber(ARGV[8]) * PRIO + redis.call('INCR', KEYS[3]))
  redis.call('HSET', KEYS[1], 'unit', unit, 'prio', ARGV[8], 'base', base, 'enq', ARGV[2], 'agent', '')
  redis.call('ZADD', KEYS[2], base, ARGV[6])
  redis.call('SADD', KEYS[4], unit)
  track_visitor(ARGV[6], ARGV[9])
end
local out = {}
drain({unit}, out)
return reply(out)
