// Package live runs live chats on a node: the WebSocket handlers
// (ws.go), the per-connection reader and writer (conn.go) and what a
// connection has delivered of each chat it follows (follow.go), this node's
// share of the fan-out over Redis pub/sub (hub.go), the client frames and
// their handlers (frames.go, handle.go, start.go, greet.go), group-committed
// message storage (appender.go), and applying the assigner's decisions
// (assignments.go).
//
// A message is acknowledged only after its batch is committed; it is then
// published once to the chat's channel, and every node hands it to its own
// connections without blocking. Each connection delivers a chat's messages
// in seq order, once: older ones are dropped and a gap (publishes from two
// nodes may cross) is filled from the store. Who may do what is asked of
// chat/access; the package declares the small interfaces it consumes
// (Store, Assigner, Classifier, Escalator) and knows nothing of SQL or of
// how assignment is decided.
//
// Goroutines: each connection has a reader, started for the socket when the
// upgrade succeeds, which ends when the socket closes or Shutdown closes it;
// and a writer, started whenever frames wait in its outbox, which ends when
// the outbox is empty or the connection is closed. The hub's receiver, the
// group-commit writers and the heartbeat, sweep and session loops end when
// the context given to Run and StartHub ends.
package live
