package access

import (
	"context"

	"github.com/chatd/chatd/chat"
)

// Audit actions: what the audit log says happened. Every staff read of a
// record, every admin action, every login, export, erasure and purge
// writes a row; the store chains the rows so a changed or removed one is
// found (`chatd audit verify`).
const (
	AuditLogin          = "auth.login"           // a staff login; detail: the address
	AuditLoginFailed    = "auth.login_failed"    // a wrong password or unknown email; object: the account when it exists
	AuditLoginThrottled = "auth.login_throttled" // the first attempt refused by the throttle in its window
	AuditLogout         = "auth.logout"
	AuditAgentCreated   = "agent.created"
	AuditAgentChanged   = "agent.changed" // detail: which fields changed (never a password)
	AuditKeyCreated     = "apikey.created"
	AuditKeyRevoked     = "apikey.revoked"
	AuditChatViewed     = "chat.viewed"      // staff (not its agent) or an API key read a chat
	AuditViewDenied     = "chat.view_denied" // ... and were refused

	// For the records of the written channel and the customer's rights:
	// a staff read of a ticket, a transcript or a visitor's data (and a
	// refused one), an export and an erasure (the row keeps that it
	// happened, never the content).
	AuditTicketViewed     = "ticket.viewed"
	AuditTicketViewDenied = "ticket.view_denied"
	AuditTranscriptViewed = "transcript.viewed"
	AuditVisitorViewed    = "visitor.viewed"
	AuditVisitorExported  = "visitor.exported"
	AuditVisitorErased    = "visitor.erased"

	// Standard replies: who created, changed or deleted one (detail: its
	// unit and language, never its text).
	AuditCannedCreated = "canned.created"
	AuditCannedChanged = "canned.changed"
	AuditCannedDeleted = "canned.deleted"
)

// Object kinds of audit rows.
const (
	ObjectAgent   = "agent"
	ObjectAPIKey  = "apikey"
	ObjectChat    = "chat"
	ObjectTicket  = "ticket"
	ObjectVisitor = "visitor"
	ObjectCanned  = "canned_reply"
)

// AuditStore keeps the audit trail.
type AuditStore interface {
	Audit(ctx context.Context, e chat.AuditEntry) error
}

// Auditor writes what principals did and looked at.
type Auditor struct{ store AuditStore }

// NewAuditor returns an Auditor writing to store.
func NewAuditor(store AuditStore) *Auditor { return &Auditor{store: store} }

// Record writes one audit row: p did action to the object. The zero
// principal is the system: chatd itself, or the command line (AsSystem).
func (a *Auditor) Record(ctx context.Context, p chat.Principal, action, objectKind, objectID, detail string) error {
	kind, id := p.Kind(), p.ID()
	if kind == "" {
		kind, id = chat.KindSystem, systemActor(ctx)
	}
	return a.store.Audit(ctx, chat.AuditEntry{ActorKind: kind, ActorID: id, Action: action,
		ObjectKind: objectKind, ObjectID: objectID, Detail: detail})
}

// RecordAnonymous writes a row for an actor with no credential (a failed
// login), named by its client address.
func (a *Auditor) RecordAnonymous(ctx context.Context, ip, action, objectKind, objectID, detail string) error {
	return a.store.Audit(ctx, chat.AuditEntry{ActorKind: KindAnonymous, ActorID: ip, Action: action,
		ObjectKind: objectKind, ObjectID: objectID, Detail: detail})
}

// KindAnonymous is the actor kind of rows written for someone without a
// credential; the actor id is their address.
const KindAnonymous = "anonymous"

type systemKey struct{}

// AsSystem returns ctx whose credential-less actions are audited as the
// system actor id ("cli" for the command line) instead of "chatd".
func AsSystem(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, systemKey{}, id)
}

func systemActor(ctx context.Context) string {
	if id, ok := ctx.Value(systemKey{}).(string); ok && id != "" {
		return id
	}
	return "chatd"
}
