package chat

import "time"

// Ticket statuses: the written channel's states.
const (
	TicketOpen    = "open"
	TicketPending = "pending"
	TicketSolved  = "solved"
	TicketClosed  = "closed"
)

// Ticket is a request answered in writing, in the order received.
type Ticket struct {
	ID        string    `json:"id"`
	Unit      string    `json:"unit"`
	Status    string    `json:"status"`
	Subject   string    `json:"subject"`
	VisitorID string    `json:"visitor_id,omitempty"`
	Email     string    `json:"email,omitempty"`
	ChatID    string    `json:"chat_id,omitempty"`
	Priority  int       `json:"priority"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}
