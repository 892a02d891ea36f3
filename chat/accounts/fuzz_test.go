package accounts

import (
	"bytes"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/chat/rest"
)

// The decoders of every REST body and query this package reads, fuzzed
// (seeds in testdata/fuzz): whatever a client sends, the answer is a value
// that passed the checks or a coded client error, never a panic or an
// internal error.

func bind(t *testing.T, contentType string, body []byte, v any) error {
	t.Helper()
	req := httptest.NewRequest("POST", "/", bytes.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	c := echo.New().NewContext(req, httptest.NewRecorder())
	return rest.Bind(c, v)
}

func clientError(t *testing.T, err error, codes ...string) {
	t.Helper()
	got := chat.ErrorCode(err)
	for _, c := range codes {
		if got == c {
			return
		}
	}
	t.Fatalf("error %v (code %q), want one of %v", err, got, codes)
}

func FuzzVisitorBody(f *testing.F) {
	f.Add("application/json", []byte(`{"name":"Ayşe","email":"a@example.com","user_id":"42","user_hash":"00"}`))
	f.Add("application/x-www-form-urlencoded", []byte("name=A&email=b%40c"))
	f.Add("", []byte(`{"name":123}`))
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		var v visitorBody
		if err := bind(t, contentType, body, &v); err != nil {
			clientError(t, err, chat.EInvalid, chat.EPayloadTooBig)
			return
		}
		name, email, err := chat.CheckVisitor(v.Name, v.Email)
		if err != nil {
			clientError(t, err, chat.EInvalid)
			return
		}
		for _, s := range []string{name, email} {
			if !utf8.ValidString(s) || strings.ContainsRune(s, 0) || chat.Mask(s) != s {
				t.Fatalf("accepted %q: not valid, or not masked", s)
			}
		}
		if len(name) > 100 || len(email) > 254 {
			t.Fatalf("accepted a name of %d and an email of %d bytes", len(name), len(email))
		}
	})
}

func FuzzAgentBody(f *testing.F) {
	f.Add([]byte(`{"email":"e@example.com","name":"Ece","units":["general"],"max_chats":5,"role":"agent"}`))
	f.Add([]byte(`{"max_chats":1e400}`))
	f.Add([]byte(`{"units":null,"disabled":"yes"}`))
	units := chat.DefaultUnits
	f.Fuzz(func(t *testing.T, body []byte) {
		var b agentBody
		if err := bind(t, "application/json", body, &b); err != nil {
			clientError(t, err, chat.EInvalid, chat.EPayloadTooBig)
			return
		}
		b.Password = nil // bcrypt is tested elsewhere, and slow
		a := &chat.Agent{Role: chat.RoleAgent, MaxChats: 5}
		if err := b.apply(a); err != nil {
			clientError(t, err, chat.EInvalid)
			return
		}
		if err := chat.ValidateAgent(a, units); err != nil {
			clientError(t, err, chat.EInvalid, chat.EUnknownUnit)
			return
		}
		if a.MaxChats < 1 || a.MaxChats > 100 || len(a.Units) == 0 || (a.Role != chat.RoleAgent && a.Role != chat.RoleSupervisor && a.Role != chat.RoleAdmin) {
			t.Fatalf("accepted %+v", a)
		}
	})
}

func FuzzLoginBody(f *testing.F) {
	f.Add("application/json", []byte(`{"email":"admin@example.com","password":"x"}`))
	f.Add("application/x-www-form-urlencoded", []byte("email=a&password=%00"))
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		var b loginBody
		if err := bind(t, contentType, body, &b); err != nil {
			clientError(t, err, chat.EInvalid, chat.EPayloadTooBig)
			return
		}
		if strings.ContainsRune(b.Email+b.Password, 0) {
			t.Fatalf("accepted a NUL in %+v", b)
		}
	})
}

func FuzzAuditQuery(f *testing.F) {
	f.Add("action=auth.*&actor=ada&from=2026-01-01T00:00:00Z&limit=10&cursor=5")
	f.Add("action=%27%20OR%201%3D1&limit=-1")
	f.Add("to=2026-01-01T00:00:00Z&from=2027-01-01T00:00:00Z")
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := ParseAuditQuery(v)
		if err != nil {
			clientError(t, err, chat.EInvalid)
			return
		}
		if q.Limit < 1 || q.Limit > 1000 || q.Before < 0 {
			t.Fatalf("accepted limit %d, cursor %d", q.Limit, q.Before)
		}
		// An action is a name of [a-z0-9._-], or such a prefix and "*":
		// nothing else reaches the query.
		if a := strings.TrimSuffix(q.Action, "*"); strings.IndexFunc(a, notActionRune) >= 0 || (a == "" && q.Action != "") {
			t.Fatalf("accepted action %q", q.Action)
		}
		for _, s := range []string{q.ActorID, q.ActorKind, q.ObjectID, q.ObjectKind, q.Action} {
			if len(s) > 200 || !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
				t.Fatalf("accepted %q", s)
			}
		}
		if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
			t.Fatalf("accepted from %v not before to %v", q.From, q.To)
		}
	})
}

func FuzzAPIKeyBody(f *testing.F) {
	f.Add([]byte(`{"name":"crm","units":["general","financial","general"]}`))
	f.Add([]byte(`{"name":"   ","units":["sales"]}`))
	f.Add([]byte(`{"name":["x"],"units":"general"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var b keyBody
		if err := bind(t, "application/json", body, &b); err != nil {
			clientError(t, err, chat.EInvalid, chat.EPayloadTooBig)
			return
		}
		name, units, err := checkKey(b, chat.DefaultUnits)
		if err != nil {
			clientError(t, err, chat.EInvalid, chat.EUnknownUnit)
			return
		}
		if name == "" || len(name) > 100 || !utf8.ValidString(name) || strings.ContainsRune(name, 0) || name != strings.TrimSpace(name) {
			t.Fatalf("accepted name %q", name)
		}
		for i, u := range units {
			if !slices.Contains(chat.DefaultUnits, u) || (i > 0 && units[i-1] >= u) {
				t.Fatalf("accepted units %q", units)
			}
		}
	})
}
