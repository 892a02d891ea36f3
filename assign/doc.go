// Package assign owns who serves which chat: agent presence and capacity,
// the per-unit waiting queues, the choice of agent for each chat, and the
// classification of a visitor's first message into a unit.
//
// All live state is in Redis and every decision is one Lua script (lua/*.lua,
// embedded), so any number of chatd processes sharing one Redis can never
// over-fill an agent or assign a chat twice. The scripts take the current
// time from the caller (a clock tests can set) and keep liveness as sorted
// sets scored by the last heartbeat instead of keys that expire, so a
// decision depends only on the caller's clock, on a real Redis and on the
// embedded one alike. Every key carries Config.Prefix, a Redis Cluster hash
// tag, which keeps the multi-key scripts legal in a cluster.
//
// Choosing an agent does not read every agent of the unit: each unit keeps a
// sorted set of its agents with a free slot, scored by load ratio, with ties
// ordered by the last assignment (lua/lib.lua: index and pick). Every script
// that changes an agent's status, units, capacity or load updates it; a
// heartbeat that lapses changes nothing, so the head is checked against the
// agent's state before it is used and dropped when it no longer holds.
//
// The package only decides; telling visitors and agents what was decided is
// the caller's job, which is why every call that can move chats returns the
// assignments it made.
package assign
