-- Shared by every script: the Go side prepends this file to each one, so a
-- script sees these locals. ARGV[1..5] are always: key prefix, now (ms),
-- heartbeat TTL (ms), grace (ms), handling-time window. Script-specific
-- arguments start at ARGV[6].
--
-- Every mutating script replies {'ok', then per assignment: chat, unit,
-- agent ('' = back in the queue), waited ms, why the chat was taken from
-- its agent ('agent_unavailable', 'no_response'; '0' when it was not), the
-- agent it was taken from (else ''), the rule that chose the agent
-- ('lowest_load', 'named_agent'; for a chat left waiting, why it was taken), the
-- visitor's presence ('1' a socket is open, '0' gone, '' unknown), the
-- moment the visitor left (ms, '0' when not gone), the number of
-- candidates and, for each, agent id, load, max, free since (ms) and flags
-- ('c' chosen, 'x' excluded for this chat, '-' neither)} or {code} for a
-- refusal ('notfound', 'unavailable', 'full'). The candidates are what the
-- rule weighed at that instant, read inside the script: recording why a
-- chat went where it went costs no round trip of its own.
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
local K_NODES = P .. 'nodes' -- zset: node -> last heartbeat (ms), for visitor sockets
local K_VGONE = P .. 'vgone' -- zset: visitor with an open chat -> moment its last socket closed (ms)
-- The same visitors split by their chat's state, for Lifecycle to scan only
-- those a limit can apply to: a queued chat's (visitor timeout) and an
-- active chat's (idle close). K_VGONE stays the presence record.
local K_VGONE_Q = P .. 'vgone:queued'
local K_VGONE_A = P .. 'vgone:active'
local K_UNANSWERED = P .. 'unanswered' -- zset: assigned chat -> moment of assignment (ms), until its agent answers

-- How many candidates an assignment records: the head of the free index,
-- in the rule's order.
local MAX_CANDIDATES = 10

local function k_agent(id) return P .. 'agent:' .. id end
local function k_agent_units(id) return P .. 'agentunits:' .. id end
local function k_agent_chats(id) return P .. 'agentchats:' .. id end
local function k_unit_agents(u) return P .. 'unitagents:' .. u end
local function k_queue(u) return P .. 'queue:' .. u end
local function k_chat(id) return P .. 'chat:' .. id end
local function k_sockets(id) return P .. 'sockets:' .. id end -- hash: node -> open sockets
local function k_handle(u) return P .. 'handle:' .. u end
local function k_free(u) return P .. 'free:' .. u end -- zset: agents with a free slot
local function k_excl(chat) return P .. 'excl:' .. chat end -- set: agents that may not take the chat (no_response)
local function k_vsock(v) return P .. 'vsock:' .. v end -- hash: node -> the visitor's open sockets
local function k_vchat(v) return P .. 'vchat:' .. v end -- the visitor's open chat
local function k_nodevis(n) return P .. 'nodevis:' .. n end -- set: visitors with a socket on the node

-- int renders a number without an exponent; Redis would send 1.7e12 as
-- "1.7e+12".
local function int(n) return string.format('%d', n) end

-- agent loads an agent's live state, or returns nil for an unknown agent.
-- live: heartbeat within TTL and a socket open; online: live and "online".
local function agent(id)
  local f = redis.call('HMGET', k_agent(id), 'max', 'status', 'last', 'name', 'since')
  if not f[1] then return nil end
  local hb = redis.call('ZSCORE', K_HB, id)
  local a = {
    id = id,
    max = tonumber(f[1]),
    status = f[2] or 'offline',
    last = tonumber(f[3]) or 0,
    name = f[4] or '',
    since = tonumber(f[5]) or 0,
    load = redis.call('SCARD', k_agent_chats(id)),
  }
  a.live = hb ~= false and NOW - tonumber(hb) < TTL and redis.call('ZSCORE', K_DISC, id) == false
  a.online = a.live and a.status == 'online'
  return a
end

-- The free index: per unit, a sorted set of the agents that are online with
-- a free slot, scored by load ratio. Among equal ratios Redis orders by
-- member, which starts with the moment the agent became free, zero-padded,
-- then the agent id, so the head of the set is the agent to pick: lowest
-- load ratio, then free the longest, then id. Free since is the later of
-- the last assignment and the moment the agent came online: an agent who
-- just came online has not been waiting longer than one who took a chat
-- an hour ago and has been online since. Every script that changes an
-- agent's status, liveness, units, capacity or load calls index; a
-- heartbeat that lapses changes nothing, so pick checks the head and drops
-- entries that are no longer true.
local function free_since(a) return math.max(a.last, a.since) end
local function member(a) return string.format('%015d', free_since(a)) .. ':' .. a.id end
local function ratio(a) return a.load / a.max end

-- lapsed tells whether the agent's connection is gone past the grace: its
-- last socket closed at least GRACE ago, its heartbeat is at least
-- max(TTL, GRACE) old, or there is none (Sweep drops the liveness entries
-- of the agents it lets go; an agent never connected has none). These are
-- the agents whose chats Sweep takes back. Reconnecting within the grace
-- changes nothing; coming back after it is coming online.
local function lapsed(id)
  local hb = redis.call('ZSCORE', K_HB, id)
  if not hb or NOW - tonumber(hb) >= math.max(TTL, GRACE) then return true end
  local gone = redis.call('ZSCORE', K_DISC, id)
  return gone ~= false and NOW - tonumber(gone) >= GRACE
end

-- came_back is called, before its liveness is refreshed, for a known agent
-- a socket or a heartbeat shows alive: an agent whose status is online and
-- whose connection had lapsed comes online now, so its free time starts
-- now (the status is the agent's, not the socket's: a new socket restores it).
local function came_back(id)
  if lapsed(id) and redis.call('HGET', k_agent(id), 'status') == 'online' then
    redis.call('HSET', k_agent(id), 'since', ARGV[2])
  end
end

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

-- gone_index files a gone visitor (in K_VGONE) under their chat's state:
-- queued or active. Called wherever a visitor goes or their chat moves
-- between the queue and an agent; a visitor not gone is in neither.
local function gone_index(v)
  if not v or v == '' then return end
  local left = redis.call('ZSCORE', K_VGONE, v)
  local chat = redis.call('GET', k_vchat(v))
  if not left or not chat then
    redis.call('ZREM', K_VGONE_Q, v)
    redis.call('ZREM', K_VGONE_A, v)
    return
  end
  local ag = redis.call('HGET', k_chat(chat), 'agent')
  local into, other = K_VGONE_Q, K_VGONE_A
  if ag and ag ~= '' then into, other = K_VGONE_A, K_VGONE_Q end
  redis.call('ZADD', into, left, v)
  redis.call('ZREM', other, v)
end

-- gone_moved refiles the visitor of a chat that moved between the queue
-- and an agent.
local function gone_moved(chat)
  gone_index(redis.call('HGET', k_chat(chat), 'visitor'))
end

-- visitor_state is the presence of a chat's visitor: '1' connected, '0'
-- gone (with the moment it left), '' when the chat names no visitor.
local function visitor_state(chat)
  local v = redis.call('HGET', k_chat(chat), 'visitor')
  if not v or v == '' then return '', '0' end
  if redis.call('HLEN', k_vsock(v)) > 0 then return '1', '0' end
  return '0', int(tonumber(redis.call('ZSCORE', K_VGONE, v)) or 0)
end

-- entry makes one assignment for the reply.
local function entry(chat, unit, agent, waited, rule, cands)
  local online, left = visitor_state(chat)
  return {chat = chat, unit = unit, agent = agent, waited = waited, requeued = '0', from = '',
    rule = rule, online = online, left = left, cands = cands or {}}
end

-- assign gives a chat to an agent and appends the assignment, with the
-- candidates weighed, to out.
local function assign(chat, unit, a, out, rule, cands)
  local key = k_chat(chat)
  redis.call('ZREM', k_queue(unit), chat)
  redis.call('HSET', key, 'agent', a.id, 'at', ARGV[2])
  redis.call('HDEL', key, 'frcheck')
  redis.call('SADD', k_agent_chats(a.id), chat)
  redis.call('HSET', k_agent(a.id), 'last', ARGV[2])
  redis.call('ZADD', K_UNANSWERED, ARGV[2], chat)
  gone_moved(chat)
  for _, c in ipairs(cands or {}) do
    if c.id == a.id then c.chosen = true end
  end
  a.load = a.load + 1
  a.last = NOW
  index(a)
  local enq = tonumber(redis.call('HGET', key, 'enq')) or NOW
  out[#out + 1] = entry(chat, unit, a.id, int(NOW - enq), rule, cands)
end

-- candidate describes an agent for an assignment record.
local function candidate(a, excluded)
  return {id = a.id, load = a.load, max = a.max, since = free_since(a), excluded = excluded}
end

-- exclusions returns the set of agents that may not take the chat (they
-- left it unanswered), or nil. The exclusion lapses while no other agent
-- of the unit is online: a chat is better given back than left unseen.
local function exclusions(chat, u)
  local ids = redis.call('SMEMBERS', k_excl(chat))
  if #ids == 0 then return nil end
  local set = {}
  for _, id in ipairs(ids) do set[id] = true end
  for _, id in ipairs(redis.call('SMEMBERS', k_unit_agents(u))) do
    if not set[id] then
      local a = agent(id)
      if a and a.online then return set end
    end
  end
  return nil
end

-- drain assigns queue heads of the given units to free agents until no
-- queued chat has one. Across units the lowest score (priority, then
-- arrival) goes first. A chat that may not go to the free agents (they
-- left it unanswered) keeps its place, and the chats behind it are served.
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
  local function valid(a, u, m, score)
    return a and a.online and a.load < a.max and m == member(a)
      and redis.call('SISMEMBER', k_agent_units(a.id), u) == 1
      and (score == nil or tonumber(score) == ratio(a))
  end
  -- pick returns the first entry of the unit's free set that is not
  -- excluded, once it is checked against the agent's state. A stale entry
  -- is dropped and its agent indexed again (once per pick, so the loop
  -- always ends), and the walk starts over.
  local function pick(u, excluded)
    local key, fixed, rank = k_free(u), {}, 0
    while true do
      local head = redis.call('ZRANGE', key, rank, rank, 'WITHSCORES')
      if not head[1] then return nil end
      local id = string.sub(head[1], 17)
      local a = get(id)
      if valid(a, u, head[1], not fixed[id] and head[2] or nil) then
        if not (excluded and excluded[id]) then return a end
        rank = rank + 1
      else
        redis.call('ZREM', key, head[1])
        if a and not fixed[id] then
          fixed[id] = true
          index(a)
        end
        rank = 0
      end
    end
  end
  -- weighed lists the free agents of the unit the rule ranked, best first.
  local function weighed(u, excluded)
    local out = {}
    local heads = redis.call('ZRANGE', k_free(u), 0, MAX_CANDIDATES - 1, 'WITHSCORES')
    for i = 1, #heads, 2 do
      local id = string.sub(heads[i], 17)
      local a = get(id)
      if valid(a, u, heads[i], nil) then
        out[#out + 1] = candidate(a, excluded ~= nil and excluded[id] == true)
      end
    end
    return out
  end
  -- next_of finds the unit's first waiting chat a free agent may take.
  local function next_of(u)
    for rank = 0, 99 do
      local head = redis.call('ZRANGE', k_queue(u), rank, rank, 'WITHSCORES')
      if not head[1] then return nil end
      local excluded = exclusions(head[1], u)
      local a = pick(u, excluded)
      if a then return head[1], tonumber(head[2]), a, excluded end
      if not excluded then return nil end -- nobody is free
    end
    return nil
  end
  while true do
    local chat, unit, who, score, excluded
    for _, u in ipairs(units) do
      local c, sc, a, ex = next_of(u)
      if c and (score == nil or sc < score) then
        chat, unit, who, score, excluded = c, u, a, sc, ex
      end
    end
    if not chat then return end
    assign(chat, unit, who, out, 'lowest_load', weighed(unit, excluded))
  end
end

-- detach takes a chat off its agent (recording the handling time) or out of
-- its queue. It returns the chat's unit and agent ('' when it was queued),
-- or nil for an unknown chat.
local function detach(chat)
  local c = redis.call('HMGET', k_chat(chat), 'unit', 'agent', 'at')
  if not c[1] then return nil end
  local ag = c[2] or ''
  redis.call('ZREM', K_UNANSWERED, chat)
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
    for _, v in ipairs({x.chat, x.unit, x.agent, x.waited, x.requeued, x.from, x.rule, x.online, x.left, int(#x.cands)}) do
      r[#r + 1] = v
    end
    for _, c in ipairs(x.cands) do
      local flags = ''
      if c.chosen then flags = flags .. 'c' end
      if c.excluded then flags = flags .. 'x' end
      if flags == '' then flags = '-' end
      for _, v in ipairs({c.id, int(c.load), int(c.max), int(c.since), flags}) do
        r[#r + 1] = v
      end
    end
  end
  return r
end

-- requeued marks the assignments of chats taken from their agents (taken:
-- chat -> agent) for why, and adds, in order, those still waiting.
local function requeued(out, taken, order, units, why)
  for _, x in ipairs(out) do
    if taken[x.chat] then
      x.requeued, x.from = why, taken[x.chat]
      taken[x.chat] = nil
    end
  end
  for _, chat in ipairs(order) do
    if taken[chat] then
      local e = entry(chat, units[chat], '', '0', why, {})
      e.requeued, e.from = why, taken[chat]
      out[#out + 1] = e
    end
  end
end

-- track_visitor remembers a chat's visitor for presence: the visitor's
-- open chat, and, when no socket of theirs is open, since when they are gone.
local function track_visitor(chat, v)
  if not v or v == '' then return end
  redis.call('HSET', k_chat(chat), 'visitor', v)
  redis.call('SET', k_vchat(v), chat)
  if redis.call('HLEN', k_vsock(v)) == 0 then
    redis.call('ZADD', K_VGONE, 'NX', ARGV[2], v)
  end
  gone_index(v)
end

-- forget_visitor drops the presence records of a chat that ended.
local function forget_visitor(chat)
  local v = redis.call('HGET', k_chat(chat), 'visitor')
  if not v or v == '' then return end
  if redis.call('GET', k_vchat(v)) == chat then
    redis.call('DEL', k_vchat(v))
    redis.call('ZREM', K_VGONE, v)
    gone_index(v)
  end
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
