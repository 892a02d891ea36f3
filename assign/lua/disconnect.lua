-- Disconnected. KEYS: agent hash, disconnects. ARGV[6]: agent id.
-- NX keeps the first moment, so repeated calls do not extend the grace.
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('ZADD', KEYS[2], 'NX', ARGV[2], ARGV[6])
end
return {'ok'}
