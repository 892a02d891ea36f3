package chat

import "time"

// Principal is who is acting: a visitor, a staff member or an integrator's
// API key; the zero Principal is nobody (no credential, or the system's own
// moves such as an assignment). What a principal may do is decided in one
// place, package chat/access.
type Principal struct {
	VisitorID string
	Agent     *Agent
	APIKey    *APIKey
	// TokenID names the visitor token the visitor came with (one per
	// device): revoking it ends that credential, and the sockets opened
	// with it, alone.
	TokenID string
}

// Principal kinds, as the audit log names actors.
const (
	KindVisitor = "visitor"
	KindAPIKey  = "apikey"
	KindSystem  = "system"
)

// Kind names the principal: visitor, the staff role, apikey, or "" for
// nobody.
func (p Principal) Kind() string {
	switch {
	case p.Agent != nil:
		return p.Agent.Role
	case p.APIKey != nil:
		return KindAPIKey
	case p.VisitorID != "":
		return KindVisitor
	}
	return ""
}

// ID is the id of whoever the principal is.
func (p Principal) ID() string {
	switch {
	case p.Agent != nil:
		return p.Agent.ID
	case p.APIKey != nil:
		return p.APIKey.ID
	}
	return p.VisitorID
}

// Key names the principal in one string, unique across kinds: the scope of
// its client_ids and idempotency keys.
func (p Principal) Key() string {
	switch {
	case p.Agent != nil:
		return "a:" + p.Agent.ID
	case p.APIKey != nil:
		return "k:" + p.APIKey.ID
	case p.VisitorID != "":
		return "v:" + p.VisitorID
	}
	return ""
}

// IsStaff reports whether the principal is a staff member.
func (p Principal) IsStaff() bool { return p.Agent != nil }

// Closer names the principal as who ended a chat: kind visitor, the staff
// role (agent, supervisor, admin), apikey, or system for nobody (the
// server's own moves, such as closing a chat whose visitor left).
func (p Principal) Closer() Sender {
	switch {
	case p.Agent != nil:
		return Sender{Kind: p.Agent.Role, ID: p.Agent.ID, Name: p.Agent.Name}
	case p.APIKey != nil:
		return Sender{Kind: KindAPIKey, ID: p.APIKey.ID, Name: p.APIKey.Name}
	case p.VisitorID != "":
		return Sender{Kind: KindVisitor, ID: p.VisitorID}
	}
	return SystemCloser
}

// SystemCloser is the server itself as who ended a chat.
var SystemCloser = Sender{Kind: KindSystem, ID: "chatd", Name: "chatd"}

// Sender names the principal as the author of a message.
func (p Principal) Sender() Sender {
	switch {
	case p.Agent != nil:
		return Sender{Kind: FromAgent, ID: p.Agent.ID, Name: p.Agent.Name}
	case p.APIKey != nil:
		return Sender{Kind: FromAPIKey, ID: p.APIKey.ID, Name: p.APIKey.Name}
	}
	return Sender{Kind: FromVisitor, ID: p.VisitorID}
}

// APIKey is an integrator's credential. Units, when not empty, limit it to
// those units.
type APIKey struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Units     []string   `json:"units"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}
