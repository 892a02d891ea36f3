package chat

// Requests the chat package makes of its store; the store implements them.

// StartRequest is a visitor's request to start a
type StartRequest struct {
	Principal, ClientID string
	Visitor             *Visitor
	Unit                string
	Priority            int
	Text                string
}

// AppendRequest asks to store one message or note.
type AppendRequest struct {
	Principal, ClientID string
	ChatID              string
	Kind                string // KindMessage or KindNote
	From                Sender
	Text                string
	// Who is writing: a visitor must own the chat; staff must be its agent,
	// or a supervisor or admin of its unit.
	VisitorID string
	Agent     *Agent
}

// AppendResult is the outcome of one AppendRequest.
type AppendResult struct {
	Message   Message // for a duplicate, only ChatID and Seq
	Duplicate bool    // the client_id was applied before: same seq, nothing new stored
	Err       error
}

// Transition is a state change of a chat, applied only if the chat is in
// one of From; Require adds conditions (such as who may do it) that make the
// change not apply when false.
type Transition struct {
	Principal, ClientID string
	ChatID              string
	From                []string
	To                  string
	AgentID             *string // set agent_id (nil: keep; "": clear)
	Unit                string  // set unit when not empty
	Reason              string
}

// Outcome says what a Transition did.
type Outcome int

const (
	Refused   Outcome = iota // the chat was not in a From state; nothing changed
	Applied                  // the change is stored
	Duplicate                // the client_id was applied before; nothing changed
)

// Escalation turns a chat into a ticket holding its transcript.
type Escalation struct {
	Principal, ClientID string
	ChatID              string
	Subject             string
	Transcript          string
	By                  Sender
}
