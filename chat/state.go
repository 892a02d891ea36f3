package chat

// The chat state machine. A chat moves only from an open state (queued or
// active), to any state: queued -> queued is a transfer to another unit
// while waiting; active -> queued a requeue (agent gone) or a transfer back
// to a queue; active -> active a transfer to another agent; queued ->
// active an assignment. Closed and escalated are final.

// OpenStates are the states a chat may move from.
var OpenStates = []string{StatusQueued, StatusActive}

// Finished explains why a chat in a final state refused to move.
func Finished(status string) error {
	return Errorf(EChatClosed, "chat is already %s", status)
}
