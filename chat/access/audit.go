package access

import (
	"context"

	"github.com/chatd/chatd/chat"
)

// AuditStore keeps the audit trail.
type AuditStore interface {
	Audit(ctx context.Context, e chat.AuditEntry) error
}

// Auditor writes what principals did and looked at.
type Auditor struct{ store AuditStore }

// NewAuditor returns an Auditor writing to store.
func NewAuditor(store AuditStore) *Auditor { return &Auditor{store: store} }

// Record writes one audit row: p did action to the object.
func (a *Auditor) Record(ctx context.Context, p chat.Principal, action, objectKind, objectID, detail string) error {
	kind, id := p.Kind(), p.ID()
	if kind == "" {
		kind, id = chat.KindSystem, "chatd"
	}
	return a.store.Audit(ctx, chat.AuditEntry{ActorKind: kind, ActorID: id, Action: action,
		ObjectKind: objectKind, ObjectID: objectID, Detail: detail})
}
