-- Metrics (read only). KEYS: known units.
-- Reply per unit: unit, queue length, online agents.
local r = {}
for _, u in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local online = 0
  for _, id in ipairs(redis.call('SMEMBERS', k_unit_agents(u))) do
    local a = agent(id)
    if a and a.online then online = online + 1 end
  end
  r[#r + 1] = u
  r[#r + 1] = int(redis.call('ZCARD', k_queue(u)))
  r[#r + 1] = int(online)
end
return r
