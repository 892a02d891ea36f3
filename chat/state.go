package chat

import "slices"

// transitions is the chat state machine: the states each state may move
// to. queued -> queued is a transfer to another unit while waiting;
// active -> queued is a requeue (agent gone) or a transfer back to a queue;
// active -> active is a transfer to another agent.
var transitions = map[string][]string{
	StatusQueued:    {StatusQueued, StatusActive, StatusClosed, StatusEscalated},
	StatusActive:    {StatusQueued, StatusActive, StatusClosed, StatusEscalated},
	StatusClosed:    {},
	StatusEscalated: {},
}

// froms lists the states from which a chat may move to `to`.
func froms(to string) []string {
	var out []string
	for _, from := range []string{StatusQueued, StatusActive, StatusClosed, StatusEscalated} {
		if slices.Contains(transitions[from], to) {
			out = append(out, from)
		}
	}
	return out
}

// illegal explains why a chat in state `from` cannot move to `to`.
func illegal(from, to string) error {
	if from == StatusClosed || from == StatusEscalated {
		return Errorf(EChatClosed, "chat is already %s", from)
	}
	return Errorf(EIllegalState, "a %s chat cannot become %s", from, to)
}
