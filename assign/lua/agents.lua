-- Agents (read only). KEYS: the unit's agents set.
-- Reply per agent: id, name, status ('offline' unless live), load, max, online '1'|'0'.
local r = {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local a = agent(id)
  if a then
    local status = 'offline'
    if a.live then status = a.status end
    local online = '0'
    if a.online then online = '1' end
    for _, v in ipairs({id, a.name, status, int(a.load), int(a.max), online}) do
      r[#r + 1] = v
    end
  end
end
return r
