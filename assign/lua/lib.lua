-- Shared by every script: the Go side prepends this file to each one, so a
-- script sees these locals. ARGV[1..5] are always: key prefix, now (ms),
-- heartbeat TTL (ms), grace (ms), handling-time window. Script-specific
-- arguments start at ARGV[6].
--
-- Every mutating script replies {'ok', then per assignment: chat, unit,
-- agent ('' = back in the queue), waited ms, requeued '1'|'0', the agent it
-- was taken from (requeued only, else '')} or {code} for a refusal
-- ('notfound', 'unavailable', 'full').
local P = ARGV[1]
local NOW = tonumber(ARGV[2])
local TTL = tonumber(ARGV[3])
local GRACE = tonumber(ARGV[4])
local WINDOW = tonumber(ARGV[5])

-- Queue scores, lowest first: each priority level is a band of PRIO
-- arrivals (higher priority, lower band); chats taken back from a lost agent
-- are shifted down by HEAD so they precede everything else while keeping
-- their relative order. All scores stay below 2^53, exact in a double.
local PRIO = 1e10
local HEAD = 1e13

local K_HB = P .. 'hb'       -- zset: agent -> last heartbeat (ms)
local K_DISC = P .. 'disc'   -- zset: agent -> moment its last socket closed (ms)

local function k_agent(id) return P .. 'agent:' .. id end
local function k_agent_units(id) return P .. 'agentunits:' .. id end
local function k_agent_chats(id) return P .. 'agentchats:' .. id end
local function k_unit_agents(u) return P .. 'unitagents:' .. u end
local function k_queue(u) return P .. 'queue:' .. u end
local function k_chat(id) return P .. 'chat:' .. id end
local function k_sockets(id) return P .. 'sockets:' .. id end -- hash: node -> open sockets
local function k_handle(u) return P .. 'handle:' .. u end
local function k_free(u) return P .. 'free:' .. u end -- zset: agents with a free slot

-- int renders a number without an exponent; Redis would send 1.7e12 as
-- "1.7e+12".
local function int(n) return string.format('%d', n) end

-- agent loads an agent's live state, or returns nil for an unknown agent.
-- live: heartbeat within TTL and a socket open; online: live and "online".
local function agent(id)
  local f = redis.call('HMGET', k_agent(id), 'max', 'status', 'last', 'name')
  if not f[1] then return nil end
  local hb = redis.call('ZSCORE', K_HB, id)
  local a = {
    id = id,
    max = tonumber(f[1]),
    status = f[2] or 'offline',
    last = tonumber(f[3]) or 0,
    name = f[4] or '',
    load = redis.call('SCARD', k_agent_chats(id)),
  }
  a.live = hb ~= false and NOW - tonumber(hb) < TTL and redis.call('ZSCORE', K_DISC, id) == false
  a.online = a.live and a.status == 'online'
  return a
end

-- The free index: per unit, a sorted set of the agents that are online with
-- a free slot, scored by load ratio. Among equal ratios Redis orders by
-- member, which starts with the moment of the last assignment, zero-padded,
-- then the agent id, so the head of the set is the agent to pick: lowest
-- load ratio, then idle longest (never assigned first), then id. Every script
-- that changes an agent's status, liveness, units, capacity or load calls
-- index; a heartbeat that lapses changes nothing, so pick checks the head
-- and drops entries that are no longer true.
local function member(a) return string.format('%015d', a.last) .. ':' .. a.id end
local function ratio(a) return a.load / a.max end

-- unindex takes an agent's entry out of the given units' free sets.
local function unindex(id, units)
  local old = redis.call('HGET', k_agent(id), 'idx')
  if not old then return end
  for _, u in ipairs(units) do
    redis.call('ZREM', k_free(u), old)
  end
  redis.call('HDEL', k_agent(id), 'idx')
end

-- index brings agent a's entries (a from agent(), or nil) up to date.
local function index(a)
  if not a then return end
  local units = redis.call('SMEMBERS', k_agent_units(a.id))
  unindex(a.id, units)
  if a.online and a.load < a.max then
    local m, r = member(a), string.format('%.17g', ratio(a))
    for _, u in ipairs(units) do
      redis.call('ZADD', k_free(u), r, m)
    end
    redis.call('HSET', k_agent(a.id), 'idx', m)
  end
end

-- assign gives a chat to an agent and appends the assignment to out.
local function assign(chat, unit, a, out)
  local key = k_chat(chat)
  redis.call('ZREM', k_queue(unit), chat)
  redis.call('HSET', key, 'agent', a.id, 'at', ARGV[2])
  redis.call('SADD', k_agent_chats(a.id), chat)
  redis.call('HSET', k_agent(a.id), 'last', ARGV[2])
  a.load = a.load + 1
  a.last = NOW
  index(a)
  local enq = tonumber(redis.call('HGET', key, 'enq')) or NOW
  out[#out + 1] = {chat, unit, a.id, int(NOW - enq), '0', ''}
end

-- drain assigns queue heads of the given units to free agents until no
-- queued chat has one. Across units the lowest score (priority, then
-- arrival) goes first.
local function drain(units, out)
  local cache = {}
  local function get(id)
    local a = cache[id]
    if a == nil then
      a = agent(id) or false
      cache[id] = a
    end
    return a
  end
  -- pick returns the head of the unit's free set once it is checked
  -- against the agent's state. A stale head is dropped and its agent
  -- indexed again (once per pick, so the loop always ends).
  local function pick(u)
    local key, fixed = k_free(u), {}
    while true do
      local head = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
      if not head[1] then return nil end
      local id = string.sub(head[1], 17)
      local a = get(id)
      local ok = a and a.online and a.load < a.max and head[1] == member(a)
        and redis.call('SISMEMBER', k_agent_units(id), u) == 1
      if ok and (fixed[id] or tonumber(head[2]) == ratio(a)) then
        return a
      end
      redis.call('ZREM', key, head[1])
      if a and not fixed[id] then
        fixed[id] = true
        index(a)
      end
    end
  end
  while true do
    local chat, unit, who, score
    for _, u in ipairs(units) do
      local head = redis.call('ZRANGE', k_queue(u), 0, 0, 'WITHSCORES')
      if head[1] and (score == nil or tonumber(head[2]) < score) then
        local a = pick(u)
        if a then
          chat, unit, who, score = head[1], u, a, tonumber(head[2])
        end
      end
    end
    if not chat then return end
    assign(chat, unit, who, out)
  end
end

-- detach takes a chat off its agent (recording the handling time) or out of
-- its queue. It returns the chat's unit and agent ('' when it was queued),
-- or nil for an unknown chat.
local function detach(chat)
  local c = redis.call('HMGET', k_chat(chat), 'unit', 'agent', 'at')
  if not c[1] then return nil end
  local ag = c[2] or ''
  if ag == '' then
    redis.call('ZREM', k_queue(c[1]), chat)
  else
    redis.call('SREM', k_agent_chats(ag), chat)
    index(agent(ag))
    local h = k_handle(c[1])
    redis.call('LPUSH', h, int(NOW - tonumber(c[3])))
    redis.call('LTRIM', h, 0, WINDOW - 1)
  end
  return c[1], ag
end

-- capacity is how many chats the unit's online agents can hold at once.
local function capacity(u)
  local n = 0
  for _, id in ipairs(redis.call('SMEMBERS', k_unit_agents(u))) do
    local a = agent(id)
    if a and a.online then n = n + a.max end
  end
  return n
end

-- handling returns the sum and count of the unit's recent handling times.
local function handling(u)
  local sum, n = 0, 0
  for _, v in ipairs(redis.call('LRANGE', k_handle(u), 0, -1)) do
    sum, n = sum + tonumber(v), n + 1
  end
  return sum, n
end

local function reply(out)
  local r = {'ok'}
  for _, x in ipairs(out) do
    for i = 1, 6 do r[#r + 1] = x[i] end
  end
  return r
end

-- set_units makes ARGV[from..] the agent's units: it leaves its old units'
-- agent sets, joins the new ones and records them as known. KEYS-style
-- arguments: the agent's units set and the known-units set.
local function set_units(id, agent_units, known, from)
  local old = redis.call('SMEMBERS', agent_units)
  unindex(id, old)
  for _, u in ipairs(old) do
    redis.call('SREM', k_unit_agents(u), id)
  end
  redis.call('DEL', agent_units)
  local units = {}
  for i = from, #ARGV do
    local u = ARGV[i]
    units[#units + 1] = u
    redis.call('SADD', agent_units, u)
    redis.call('SADD', k_unit_agents(u), id)
    redis.call('SADD', known, u)
  end
  return units
end
