package chat

import "time"

// The customer's rights: everything held about a visitor, handed to them
// (an export), and its erasure. An export holds what the customer saw and
// said, never what staff kept for themselves (internal notes, the
// assignment record).

// ReasonErased is the close reason of a chat closed because its visitor's
// data is being erased.
const ReasonErased = "visitor_erased"

// VisitorExport is everything stored about one visitor.
type VisitorExport struct {
	Visitor ExportVisitor  `json:"visitor"`
	Tokens  []ExportToken  `json:"tokens"`
	Chats   []ExportChat   `json:"chats"`
	Tickets []ExportTicket `json:"tickets"`
}

// ExportVisitor is the visitor record.
type ExportVisitor struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Email      string    `json:"email"`
	UserID     string    `json:"user_id,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
}

// ExportToken is one device's credential, described (never the token).
type ExportToken struct {
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at"`
}

// ExportChat is one chat with its messages (no internal notes) and the
// customer's rating.
type ExportChat struct {
	ID            string          `json:"id"`
	Unit          string          `json:"unit"`
	Status        string          `json:"status"`
	CloseReason   string          `json:"close_reason,omitempty"`
	TicketID      string          `json:"ticket_id,omitempty"`
	CreatedAt     time.Time       `json:"created_at"`
	ClosedAt      *time.Time      `json:"closed_at,omitempty"`
	Rating        int             `json:"rating,omitempty"`
	RatingComment string          `json:"rating_comment,omitempty"`
	Messages      []ExportMessage `json:"messages"`
}

// ExportMessage is one message of a chat or one entry of a ticket.
type ExportMessage struct {
	Seq  int64     `json:"seq"`
	From Sender    `json:"from"`
	Text string    `json:"text"`
	At   time.Time `json:"at"`
}

// ExportTicket is one ticket with its request and replies (no internal
// notes).
type ExportTicket struct {
	ID         string          `json:"id"`
	Unit       string          `json:"unit"`
	Status     string          `json:"status"`
	Subject    string          `json:"subject"`
	Email      string          `json:"email,omitempty"`
	ChatID     string          `json:"chat_id,omitempty"`
	MergedInto string          `json:"merged_into,omitempty"`
	CreatedAt  time.Time       `json:"created_at"`
	UpdatedAt  time.Time       `json:"updated_at"`
	Replies    []ExportMessage `json:"replies"`
}

// Erasure names whose records go: visitors by id and, when Email is set,
// the tickets requested under that email address.
type Erasure struct {
	VisitorIDs []string
	Email      string
	// Revoked counts the tokens revoked beforehand (to end the sockets
	// first), for the result and the audit row.
	Revoked int64
	// Audit is the row written in the erasure's transaction, one per
	// visitor (ObjectID filled in) or, with no visitor, one for the email.
	Audit AuditEntry
}

// ErasureResult counts what an erasure deleted.
type ErasureResult struct {
	Visitors   int64 `json:"visitors"`
	Chats      int64 `json:"chats"`
	Messages   int64 `json:"messages"`
	Tickets    int64 `json:"tickets"`
	Replies    int64 `json:"replies"`
	Tokens     int64 `json:"tokens"`
	Deliveries int64 `json:"webhook_deliveries"`
	Answers    int64 `json:"idempotency_keys"`
}
