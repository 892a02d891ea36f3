-- Transfer. KEYS: chat hash, known units. ARGV[6..]: chat id, target unit
-- ('' = keep the chat's unit), target agent ('' = queue in the unit).
local chat, to = ARGV[6], ARGV[8]
local c = redis.call('HMGET', KEYS[1], 'unit', 'agent', 'base')
if not c[1] then return {'notfound'} end
local unit = ARGV[7]
if unit == '' then unit = c[1] end
local from = c[2] or ''

local target
if to ~= '' then
  target = agent(to)
  if not target or not target.online or redis.call('SISMEMBER', k_agent_units(to), unit) == 0 then
    return {'unavailable'}
  end
  if from == to then target.load = target.load - 1 end
  if target.load >= target.max then return {'full'} end
end

detach(chat)
redis.call('DEL', k_excl(chat)) -- staff moved it: earlier exclusions no longer apply
redis.call('HSET', KEYS[1], 'unit', unit, 'agent', '', 'enq', ARGV[2])
redis.call('SADD', KEYS[2], unit)
local out = {}
if target then
  assign(chat, unit, target, out, 'named_agent', {candidate(target, false)})
else
  redis.call('ZADD', k_queue(unit), c[3], chat)
  gone_moved(chat)
end
local units = {unit}
if from ~= '' then
  for _, u in ipairs(redis.call('SMEMBERS', k_agent_units(from))) do
    units[#units + 1] = u
  end
end
drain(units, out)
return reply(out)
