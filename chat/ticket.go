package chat

import (
	"slices"
	"time"
)

// Ticket statuses: the written channel's states.
const (
	TicketOpen    = "open"
	TicketPending = "pending" // waiting for the customer
	TicketSolved  = "solved"
	TicketClosed  = "closed" // final
)

// TicketStatuses lists every status, in the order a ticket moves through them.
var TicketStatuses = []string{TicketOpen, TicketPending, TicketSolved, TicketClosed}

// Ticket is a request answered in writing, in the order received.
type Ticket struct {
	ID           string     `json:"id"`
	Unit         string     `json:"unit"`
	Status       string     `json:"status"`
	Subject      string     `json:"subject"`
	VisitorID    string     `json:"visitor_id,omitempty"`
	Email        string     `json:"email,omitempty"`
	ChatID       string     `json:"chat_id,omitempty"`
	Priority     int        `json:"priority"`
	MergedInto   string     `json:"merged_into,omitempty"`
	CreatedAt    time.Time  `json:"created_at"`
	UpdatedAt    time.Time  `json:"updated_at"`
	SolvedAt     *time.Time `json:"solved_at,omitempty"`
	FirstReplyAt *time.Time `json:"first_reply_at,omitempty"`
}

// Ticket entry kinds: a reply is seen by the customer, a note by staff only.
const (
	EntryReply = "reply"
	EntryNote  = "note"
)

// TicketEntry is one written entry of a ticket, in order: the request
// itself (seq 1), replies from both sides and internal notes.
type TicketEntry struct {
	Seq  int64     `json:"seq"`
	Kind string    `json:"kind"`
	From Sender    `json:"from"`
	Text string    `json:"text"`
	At   time.Time `json:"at"`
}

// Ticket event kinds: the timeline of a ticket.
const (
	EventCreated    = "created"     // opened (by a request, the offline form or an escalation)
	EventStatus     = "status"      // moved from one status to another
	EventUnit       = "unit"        // moved to another unit
	EventReplied    = "replied"     // a reply was added
	EventNoted      = "noted"       // an internal note was added (staff only)
	EventMergedIn   = "merged_in"   // a repeated request or another ticket was added to this one
	EventMergedInto = "merged_into" // this ticket was merged into another and closed
)

// TicketEvent is one change on a ticket's timeline: who, when, what.
type TicketEvent struct {
	At   time.Time `json:"at"`
	By   Sender    `json:"by"`
	Kind string    `json:"kind"`
	From string    `json:"from,omitempty"` // the status or unit before
	To   string    `json:"to,omitempty"`   // the status or unit after, or the other ticket of a merge
}

// ticketMoves lists the statuses each status may move to by hand.
// Closed is final: a new request opens a new ticket.
var ticketMoves = map[string][]string{
	TicketOpen:    {TicketPending, TicketSolved, TicketClosed},
	TicketPending: {TicketOpen, TicketSolved, TicketClosed},
	TicketSolved:  {TicketOpen, TicketClosed},
	TicketClosed:  nil,
}

// ValidTicketStatus reports whether s names a ticket status.
func ValidTicketStatus(s string) bool { return slices.Contains(TicketStatuses, s) }

// TicketMove checks a move of a ticket's status: illegal_transition for a
// move the statuses do not allow (anything out of closed).
func TicketMove(from, to string) error {
	if !ValidTicketStatus(to) {
		return Errorf(EInvalid, "status %q: want open, pending, solved or closed", to)
	}
	if from == to {
		return Errorf(EIllegalState, "ticket is already %s", to)
	}
	if !slices.Contains(ticketMoves[from], to) {
		if from == TicketClosed {
			return Errorf(EIllegalState, "ticket is closed, which is final; a new request opens a new ticket")
		}
		return Errorf(EIllegalState, "a %s ticket cannot become %s", from, to)
	}
	return nil
}

// AfterCustomerReply is the status a ticket takes when its customer writes:
// a pending or solved ticket opens again; a closed one takes no reply.
func AfterCustomerReply(status string) (string, error) {
	switch status {
	case TicketOpen:
		return TicketOpen, nil
	case TicketPending, TicketSolved:
		return TicketOpen, nil
	}
	return "", Errorf(EIllegalState, "ticket is closed, which is final; a new request opens a new ticket")
}

// Mergeable reports whether a ticket still takes repeated requests and
// merges: open or pending.
func (t *Ticket) Mergeable() bool { return t.Status == TicketOpen || t.Status == TicketPending }
