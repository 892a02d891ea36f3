package accounts

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/chat/access"
)

// auditLog serves GET /api/v1/audit (admin): the access and change log,
// newest first, filtered by actor, object, action and time, limit rows
// (default 100, at most 1000) a page. No route changes or deletes a row.
func (api *API) auditLog(c echo.Context) error {
	ctx := c.Request().Context()
	if _, err := access.Require(ctx, access.ReadAudit); err != nil {
		return err
	}
	q, err := ParseAuditQuery(c.QueryParams())
	if err != nil {
		return err
	}
	rows, err := api.store.AuditLog(ctx, q)
	if err != nil {
		return err
	}
	next := ""
	if len(rows) == q.Limit {
		next = rows[len(rows)-1].Cursor()
	}
	if rows == nil {
		rows = []chat.AuditEntry{}
	}
	return c.JSON(http.StatusOK, map[string]any{"items": rows, "next_cursor": next})
}

// ParseAuditQuery reads the audit log's filters: actor_kind, actor (an
// actor id), object_kind, object (an object id), action (exact, or a
// prefix ending in "*": "auth.*"), from and to (RFC 3339 times; from is
// inclusive, to exclusive), limit and cursor. Whatever it is given, it
// returns a query or an invalid_request error, never anything else.
func ParseAuditQuery(v url.Values) (chat.AuditQuery, error) {
	q := chat.AuditQuery{Limit: 100}
	text := func(name string, dst *string) error {
		s := v.Get(name)
		if len(s) > 200 || strings.ContainsRune(s, 0) || !utf8.ValidString(s) {
			return chat.Errorf(chat.EInvalid, "%s must be at most 200 bytes of text", name)
		}
		*dst = s
		return nil
	}
	for name, dst := range map[string]*string{"actor_kind": &q.ActorKind, "actor": &q.ActorID, "object_kind": &q.ObjectKind, "object": &q.ObjectID, "action": &q.Action} {
		if err := text(name, dst); err != nil {
			return q, err
		}
	}
	if a := q.Action; a != "" {
		prefix, wild := strings.CutSuffix(a, "*")
		if strings.ContainsRune(prefix, '*') || (wild && prefix == "") || strings.IndexFunc(prefix, notActionRune) >= 0 {
			return q, chat.Errorf(chat.EInvalid, "action must be an action name or a prefix ending in * (such as auth.*)")
		}
	}
	for name, dst := range map[string]*time.Time{"from": &q.From, "to": &q.To} {
		if s := v.Get(name); s != "" {
			t, err := time.Parse(time.RFC3339Nano, s)
			if err != nil || t.Year() < 1970 || t.Year() > 9999 {
				return q, chat.Errorf(chat.EInvalid, "%s must be an RFC 3339 time such as 2026-01-02T15:04:05Z", name)
			}
			*dst = t
		}
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
		return q, chat.Errorf(chat.EInvalid, "from must be before to")
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			return q, chat.Errorf(chat.EInvalid, "limit must be 1 to 1000")
		}
		q.Limit = n
	}
	if s := v.Get("cursor"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 1 {
			return q, chat.Errorf(chat.EInvalid, "cursor is not valid")
		}
		q.Before = n
	}
	return q, nil
}

func notActionRune(r rune) bool {
	return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-')
}

// The audit rows of admin actions are written once the change is stored;
// if one cannot be written the request fails, so an admin action never
// passes silently unrecorded. The actor is the request's principal, or the
// system (the command line) when there is none.

func auditor(ctx context.Context, store access.AuditStore) (*access.Auditor, chat.Principal) {
	p, _ := access.From(ctx)
	return access.NewAuditor(store), p
}

func auditAgentCreated(ctx context.Context, store access.AuditStore, a *chat.Agent) error {
	au, p := auditor(ctx, store)
	return au.Record(ctx, p, access.AuditAgentCreated, access.ObjectAgent, a.ID,
		fmt.Sprintf("email=%s role=%s units=%s max_chats=%d", a.Email, a.Role, strings.Join(a.Units, ","), a.MaxChats))
}

// auditAgentChanged says which fields changed, with their old and new
// values, except the password: only that it changed.
func auditAgentChanged(ctx context.Context, store access.AuditStore, before, after *chat.Agent) error {
	var d []string
	change := func(name string, was, is any) {
		if fmt.Sprint(was) != fmt.Sprint(is) {
			d = append(d, fmt.Sprintf("%s: %v -> %v", name, was, is))
		}
	}
	change("name", before.Name, after.Name)
	change("role", before.Role, after.Role)
	change("max_chats", before.MaxChats, after.MaxChats)
	change("disabled", before.Disabled, after.Disabled)
	if !slices.Equal(before.Units, after.Units) {
		d = append(d, fmt.Sprintf("units: %s -> %s", strings.Join(before.Units, ","), strings.Join(after.Units, ",")))
	}
	if before.PasswordHash != after.PasswordHash {
		d = append(d, "password changed")
	}
	if len(d) == 0 {
		d = append(d, "no change")
	}
	au, p := auditor(ctx, store)
	return au.Record(ctx, p, access.AuditAgentChanged, access.ObjectAgent, after.ID, strings.Join(d, "; "))
}

func auditKeyCreated(ctx context.Context, store access.AuditStore, id, name string) error {
	au, p := auditor(ctx, store)
	return au.Record(ctx, p, access.AuditKeyCreated, access.ObjectAPIKey, id, "name="+name)
}

// AgentCreated and KeyCreated write the audit rows of an account or key
// made outside the REST API (the command line).
func AgentCreated(ctx context.Context, store access.AuditStore, a *chat.Agent) error {
	return auditAgentCreated(ctx, store, a)
}

// KeyCreated: see AgentCreated.
func KeyCreated(ctx context.Context, store access.AuditStore, id, name string) error {
	return auditKeyCreated(ctx, store, id, name)
}
