package chat

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// Staff roles. Agents and supervisors act within their units; admins see all.
const (
	RoleAgent      = "agent"
	RoleSupervisor = "supervisor"
	RoleAdmin      = "admin"
)

// Chat states; state.go says which moves are legal.
const (
	StatusQueued    = "queued"
	StatusActive    = "active"
	StatusClosed    = "closed"
	StatusEscalated = "escalated"
)

// Message kinds. Notes are internal to staff and have their own sequence.
const (
	KindMessage = "message"
	KindNote    = "note"
)

// Sender kinds. An API key's actions (ticket replies, events, webhook
// changes) are kind apikey, as in closed_by and the audit log; rows stored
// as system before schema 0007 were moved to apikey by it.
const (
	FromVisitor = "visitor"
	FromAgent   = "agent"
	FromAPIKey  = "apikey"
	FromSystem  = "system"
)

// DefaultUnits are the units of a fresh installation.
var DefaultUnits = []string{"general", "account", "technical", "financial"}

// Agent is a staff member: agent, supervisor or admin.
type Agent struct {
	ID           string    `json:"id"`
	Email        string    `json:"email"`
	Name         string    `json:"name"`
	PasswordHash string    `json:"-"`
	Role         string    `json:"role"`
	Units        []string  `json:"units"`
	MaxChats     int       `json:"max_chats"`
	Disabled     bool      `json:"disabled"`
	CreatedAt    time.Time `json:"created_at"`
}

// Serves reports whether the agent may act in unit.
func (a *Agent) Serves(unit string) bool {
	return a.Role == RoleAdmin || slices.Contains(a.Units, unit)
}

// Visitor is a customer, known only by the id in their signed token.
type Visitor struct {
	ID        string    `json:"id"`
	Name      string    `json:"name,omitempty"`
	Email     string    `json:"email,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	// UserID is the site's own id of a signed-in customer, verified by the
	// site's signature (identity verification); "" for anonymous visitors.
	UserID string `json:"user_id,omitempty"`
}

// Chat is one conversation between a visitor and the support desk.
type Chat struct {
	ID          string     `json:"id"`
	VisitorID   string     `json:"visitor_id"`
	Unit        string     `json:"unit"`
	Status      string     `json:"status"`
	Priority    int        `json:"priority"`
	AgentID     string     `json:"agent_id,omitempty"`
	LastSeq     int64      `json:"last_seq"`
	LastNote    int64      `json:"-"`
	CloseReason string     `json:"close_reason,omitempty"`
	TicketID    string     `json:"ticket_id,omitempty"`
	Rating      int        `json:"rating,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	AssignedAt  *time.Time `json:"assigned_at,omitempty"`
	ClosedAt    *time.Time `json:"closed_at,omitempty"`
	ClosedBy    *Sender    `json:"closed_by,omitempty"` // who ended it (Principal.Closer); nil while open
	LastActive  time.Time  `json:"last_activity_at"`
}

// Open reports whether the chat still takes messages.
func (c *Chat) Open() bool { return c.Status == StatusQueued || c.Status == StatusActive }

// Sender names who wrote a message.
type Sender struct {
	Kind string `json:"kind"`
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Message is one stored line of a chat: a message (seen by all) or a note
// (staff only).
type Message struct {
	ChatID string    `json:"chat_id"`
	Kind   string    `json:"-"`
	Seq    int64     `json:"seq"`
	From   Sender    `json:"from"`
	Text   string    `json:"text"`
	At     time.Time `json:"at"`
}

// AuditEntry is one row of the access and change log. Rows form a hash
// chain: Seq counts them from 1 with no gaps, and Hash covers the row's
// fields and PrevHash, the Hash of the row before it.
type AuditEntry struct {
	ID         string    `json:"id" db:"id"`
	Seq        int64     `json:"seq" db:"seq"`
	At         time.Time `json:"at" db:"-"`
	AtMS       int64     `json:"-" db:"at"`
	ActorKind  string    `json:"actor_kind" db:"actor_kind"`
	ActorID    string    `json:"actor_id" db:"actor_id"`
	Action     string    `json:"action" db:"action"`
	ObjectKind string    `json:"object_kind" db:"object_kind"`
	ObjectID   string    `json:"object_id" db:"object_id"`
	Detail     string    `json:"detail,omitempty" db:"detail"`
	PrevHash   string    `json:"prev_hash" db:"prev_hash"`
	Hash       string    `json:"hash" db:"hash"`
}

// Cursor names this row for the next page of the log.
func (e AuditEntry) Cursor() string { return strconv.FormatInt(e.Seq, 10) }

// AuditQuery selects rows of the audit log, newest first. Empty fields
// select everything; Action ending in ".*" selects every action under that
// prefix ("auth.*").
type AuditQuery struct {
	ActorKind, ActorID   string
	ObjectKind, ObjectID string
	Action               string
	From, To             time.Time // At >= From, At < To (zero: unbounded)
	Before               int64     // Seq < Before: the cursor of the page before (0: from the newest)
	Limit                int
}

// ValidateAgent checks a staff record against the configured units.
func ValidateAgent(a *Agent, units []string) error {
	if !strings.Contains(a.Email, "@") || len(a.Email) > 254 {
		return Errorf(EInvalid, "email %q is not an email address", a.Email)
	}
	if strings.TrimSpace(a.Name) == "" {
		return Errorf(EInvalid, "name is required")
	}
	switch a.Role {
	case RoleAgent, RoleSupervisor, RoleAdmin:
	default:
		return Errorf(EInvalid, "role %q: want agent, supervisor or admin", a.Role)
	}
	if len(a.Units) == 0 {
		return Errorf(EInvalid, "at least one unit is required")
	}
	for _, u := range a.Units {
		if !slices.Contains(units, u) {
			return Errorf(EUnknownUnit, "unknown unit %q (units: %s)", u, strings.Join(units, ", "))
		}
	}
	if a.MaxChats < 1 || a.MaxChats > 100 {
		return Errorf(EInvalid, "max_chats must be between 1 and 100")
	}
	return nil
}
