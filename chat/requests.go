package chat

// Requests the live-chat and ticket packages make of the store; the store
// implements them. Who is the principal asking (zero for the system's own
// moves); its client_id makes a resend return the first answer.

// StartRequest asks to start a visitor's chat with its first message.
type StartRequest struct {
	Who      Principal
	ClientID string
	Visitor  *Visitor
	Unit     string
	Priority int
	Text     string
}

// AppendRequest asks to store one message or note. The store checks, with
// the chat row locked, that Who may write it (chat/access.MayWrite).
type AppendRequest struct {
	Who      Principal
	ClientID string
	ChatID   string
	Kind     string // KindMessage or KindNote
	From     Sender
	Text     string
}

// AppendResult is the outcome of one AppendRequest.
type AppendResult struct {
	Message   Message // for a duplicate, only ChatID and Seq
	Duplicate bool    // the client_id was applied before: same seq, nothing new stored
	Err       error
}

// Transition is a state change of a chat, applied only if the chat is in
// one of From.
type Transition struct {
	Who      Principal
	ClientID string
	ChatID   string
	From     []string
	To       string
	AgentID  *string // set agent_id (nil: keep; "": clear)
	Unit     string  // set unit when not empty
	Reason   string
	// Records say why the chat moved; they are stored with the move, and
	// only if it applies.
	Records []AssignmentRecord
}

// Outcome says what a Transition did.
type Outcome int

const (
	Refused   Outcome = iota // the chat was not in a From state; nothing changed
	Applied                  // the change is stored
	Duplicate                // the client_id was applied before; nothing changed
)

// Escalation turns an open chat into a ticket holding its transcript.
type Escalation struct {
	Who      Principal
	ClientID string
	ChatID   string
	Subject  string // "" lets the transcript's renderer choose
	By       Sender
}
