package chat

import "time"

// Requests and records of the written channel: what the ticket API asks
// of the store and what it gets back (the store implements them).

// NewTicket is a written request: the offline form, an integrator's POST.
type NewTicket struct {
	Unit      string
	Subject   string
	Text      string
	VisitorID string // the requester: a visitor, an email, or both
	Email     string
	By        Sender // who asked (the visitor, an API key, staff)
	Author    Sender // who wrote the request
}

// TicketWrite is an entry added to a ticket by Who. Check runs on the
// locked ticket row (the access policy, so a move or merge a moment before
// is seen); Customer marks the requester's own reply, which opens a pending
// or solved ticket again.
type TicketWrite struct {
	TicketID string
	Kind     string // chat.EntryReply or chat.EntryNote
	From     Sender
	Text     string
	Customer bool
	Check    func(*Ticket) error
}

// TicketChange moves a ticket to another status and/or unit, checked on
// the locked row.
type TicketChange struct {
	TicketID string
	By       Sender
	Status   string // "" keeps it
	Unit     string // "" keeps it
	Check    func(*Ticket) error
}

// TicketMerge merges ticket Source into Target, checked on both locked rows.
type TicketMerge struct {
	SourceID, TargetID string
	By                 Sender
	Check              func(source, target *Ticket) error
}

// TicketFilter selects tickets for the written queue.
type TicketFilter struct {
	Units     []string // nil: every unit; empty: none
	Status    string   // "" every status
	Email     string
	VisitorID string
	From, To  time.Time // created in [From, To); zero: unbounded
	Newest    bool      // newest first instead of oldest first
	Cursor    string    // the last ticket of the previous page
	Limit     int
}

// QueuePlace is where an open ticket stands in its unit's written queue,
// and what recent figures say of the wait for a first reply.
type QueuePlace struct {
	Position int // 1: the next to be answered
	// ExpectedFirstReply is the position times the recent time between first
	// replies in the unit (the last 7 days); 0 when there are no figures
	// (fewer than two first replies at distinct times).
	ExpectedFirstReply time.Duration
}

// HistoryItem is one past chat or ticket of a visitor.
type HistoryItem struct {
	Kind       string    `json:"kind"` // chat or ticket
	ID         string    `json:"id"`
	Unit       string    `json:"unit"`
	Status     string    `json:"status"`
	Subject    string    `json:"subject,omitempty"`     // tickets
	Text       string    `json:"text,omitempty"`        // chats: the first message
	TicketID   string    `json:"ticket_id,omitempty"`   // an escalated chat's ticket
	MergedInto string    `json:"merged_into,omitempty"` // a merged ticket's target
	CreatedAt  time.Time `json:"created_at"`
}

// ChatRecord is what a chat leaves behind beyond its row and messages.
type ChatRecord struct {
	Visitor       *Visitor
	RatingComment string
	AgentNames    map[string]string // every agent named in the chat's messages or assignments
}

// Webhook is an integrator's subscription to events.
type Webhook struct {
	ID        string    `json:"id"`
	URL       string    `json:"url"`
	Events    []string  `json:"events"`
	Secret    string    `json:"secret,omitempty"` // only in the answer that creates it
	CreatedAt time.Time `json:"created_at"`
}

// Delivery is one event sent (or to be sent) to one webhook. Its id is the
// X-Chat-Delivery header of every attempt.
type Delivery struct {
	ID             string     `json:"id"`
	WebhookID      string     `json:"webhook_id"`
	Event          string     `json:"event"`
	Body           string     `json:"-"`
	Status         string     `json:"status"` // pending, delivered, failed
	Attempts       int        `json:"attempts"`
	NextAttemptAt  time.Time  `json:"next_attempt_at"`
	LastError      string     `json:"last_error,omitempty"`
	ResponseStatus int        `json:"response_status,omitempty"`
	CreatedAt      time.Time  `json:"created_at"`
	DeliveredAt    *time.Time `json:"delivered_at,omitempty"`
	RetryFrom      time.Time  `json:"-"` // retries run RetryFor from here: the event, or its last redelivery
	URL            string     `json:"-"`
	Secret         string     `json:"-"`
}

// CannedReply is a standard reply of a unit ("" for every unit) in one
// language.
type CannedReply struct {
	ID        string    `json:"id" db:"id"`
	Unit      string    `json:"unit" db:"unit"`
	Lang      string    `json:"lang" db:"lang"`
	Title     string    `json:"title" db:"title"`
	Text      string    `json:"text" db:"text"`
	UpdatedMS int64     `json:"-" db:"updated_at"`
	UpdatedAt time.Time `json:"updated_at" db:"-"`
}

// StoredAnswer is the answer kept for an idempotency key.
type StoredAnswer struct {
	RequestHash string `db:"request_hash"`
	Status      int    `db:"status"` // 0 while the first request is still running
	Body        string `db:"body"`   // with Secret, the answer without its secret
	Secret      int    `db:"secret"` // 1: the answer held a secret, which is not kept
	ClaimedMS   int64  `db:"created_at"`
}

// Delivery statuses.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed"
)
