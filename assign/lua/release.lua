-- Release. KEYS: chat hash. ARGV[6]: chat id.
local unit, ag = detach(ARGV[6])
local out = {}
if unit then
  forget_visitor(ARGV[6])
  redis.call('DEL', KEYS[1], k_excl(ARGV[6]))
  if ag ~= '' then
    drain(redis.call('SMEMBERS', k_agent_units(ag)), out)
  end
end
return reply(out)
