// Package chat owns live chats: the WebSocket protocol (frames.go), the
// per-connection reader and writer (conn.go), this node's share of the
// fan-out over Redis pub/sub (hub.go), the chat state machine (state.go),
// group-committed message storage (appender.go), and the HTTP handlers for
// visitors, staff logins and staff accounts (ws.go, staff.go).
//
// A message is acknowledged only after its batch is committed; it is then
// published once to the chat's channel, and every node hands it to its own
// connections without blocking. Each connection delivers a chat's messages
// in seq order, once: older ones are dropped and a gap (publishes from two
// nodes may cross) is filled from the store. The package declares the small
// interfaces it consumes (Store, StaffStore, Assigner, Classifier) and knows
// nothing of SQL or of how assignment is decided.
//
// Goroutines: each connection has a reader (the HTTP handler's goroutine)
// and a writer; both end when the socket closes or Shutdown closes it. The
// hub's receiver, the group-commit writers and the heartbeat and sweep loops
// end when the context given to Run and StartHub ends.
package chat
