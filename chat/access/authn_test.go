package access

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/chatd/chatd/chat"
)

// fakeStore is the Authenticator's store in memory, counting the reads and
// writes of visitor tokens.
type fakeStore struct {
	mu       sync.Mutex
	visitors map[string]*chat.Visitor
	tokens   map[string]fakeToken // token id -> visitor, last use
	sessions map[string]*chat.Agent
	audit    []chat.AuditEntry
	reads    int
	touches  int
}

type fakeToken struct {
	visitor string
	used    time.Time
}

func newFakeStore() *fakeStore {
	return &fakeStore{visitors: map[string]*chat.Visitor{}, tokens: map[string]fakeToken{}, sessions: map[string]*chat.Agent{}}
}

func (f *fakeStore) Audit(_ context.Context, e chat.AuditEntry) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.audit = append(f.audit, e)
	return nil
}

func (f *fakeStore) VisitorToken(_ context.Context, id string) (*chat.Visitor, time.Time, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	t, ok := f.tokens[id]
	if !ok {
		return nil, time.Time{}, chat.Errorf(chat.ENotFound, "no such token")
	}
	return f.visitors[t.visitor], t.used, nil
}

func (f *fakeStore) TouchVisitorToken(_ context.Context, id string, at time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.touches++
	t := f.tokens[id]
	t.used = at
	f.tokens[id] = t
	return nil
}

func (f *fakeStore) CreateVisitorToken(_ context.Context, visitorID string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := "t" + string(rune('a'+len(f.tokens)))
	f.tokens[id] = fakeToken{visitor: visitorID, used: time.Now()}
	return id, nil
}

func (f *fakeStore) RevokeVisitorToken(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.tokens, id)
	return nil
}

func (f *fakeStore) AgentByEmail(context.Context, string) (*chat.Agent, error) {
	return nil, chat.Errorf(chat.ENotFound, "no such agent")
}

func (f *fakeStore) SessionAgent(_ context.Context, token string) (*chat.Agent, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if a, ok := f.sessions[token]; ok {
		return a, nil
	}
	return nil, chat.Errorf(chat.EUnauthorized, "session expired or unknown")
}

func (f *fakeStore) CreateSession(context.Context, string, time.Duration) (string, error) {
	return "s_new", nil
}
func (f *fakeStore) DeleteSession(context.Context, string) error { return nil }
func (f *fakeStore) APIKey(context.Context, string) (*chat.APIKey, error) {
	return nil, chat.Errorf(chat.EUnauthorized, "unknown api key")
}

func newAuth(t *testing.T, cfg Config) (*Authenticator, *fakeStore) {
	t.Helper()
	m := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr(), DisableIdentity: true})
	t.Cleanup(func() { rdb.Close() })
	st := newFakeStore()
	return New(cfg, st, rdb, NewSigner([]byte("0123456789abcdef0123456789abcdef")), slog.New(slog.NewTextHandler(io.Discard, nil))), st
}

func (f *fakeStore) addVisitor(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.visitors[id] = &chat.Visitor{ID: id}
}

func (f *fakeStore) age(tokenID string, by time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := f.tokens[tokenID]
	t.used = t.used.Add(-by)
	f.tokens[tokenID] = t
}

func TestVisitorTokens(t *testing.T) {
	ctx := context.Background()
	a, st := newAuth(t, Config{VisitorTokenTTL: 10 * time.Hour})
	st.addVisitor("v-1")
	st.addVisitor("v-2")
	tok, err := a.IssueVisitorToken(ctx, "v-1")
	if err != nil {
		t.Fatal(err)
	}
	p, v, err := a.Visitor(ctx, tok)
	if err != nil || p.VisitorID != "v-1" || v.ID != "v-1" || p.TokenID == "" {
		t.Fatalf("a fresh token: %+v %+v %v", p, v, err)
	}
	other, _ := a.IssueVisitorToken(ctx, "v-2")
	parts := strings.Split(tok, ".")
	otherParts := strings.Split(other, ".")
	signer := NewSigner([]byte("another installation's secret!!!"))
	tests := []struct {
		name  string
		token string
		reads bool // whether refusing it may cost a lookup
	}{
		{"empty", "", false},
		{"garbage", "v2.nonsense", false},
		{"the mac flipped", parts[0] + "." + parts[1] + "." + parts[2] + "." + flip(parts[3]), false},
		{"another visitor's id with this mac", parts[0] + ".v-2." + parts[2] + "." + parts[3], false},
		{"another token id with this mac", parts[0] + "." + parts[1] + "." + otherParts[2] + "." + parts[3], false},
		{"signed by another installation", signer.VisitorToken("v-1", parts[2]), false},
		{"the first format", "v1.v-1." + parts[3], false},
		{"a staff session token", "s_0123", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := st.reads
			if _, _, err := a.Visitor(ctx, tt.token); chat.ErrorCode(err) != chat.EUnauthorized {
				t.Fatalf("accepted or wrong error: %v", err)
			}
			if !tt.reads && st.reads != before {
				t.Errorf("a forged token cost a lookup")
			}
		})
	}

	// A token of one visitor made to name another: the signature covers
	// both ids, so it can only be one the store disagrees with.
	st.mu.Lock()
	st.tokens[parts[2]] = fakeToken{visitor: "v-2", used: time.Now()}
	st.mu.Unlock()
	if _, _, err := a.Visitor(ctx, tok); chat.ErrorCode(err) != chat.EUnauthorized {
		t.Fatalf("a token whose row names another visitor: %v", err)
	}
	st.mu.Lock()
	st.tokens[parts[2]] = fakeToken{visitor: "v-1", used: time.Now()}
	st.mu.Unlock()

	// Sliding expiry: a use within the touch interval writes nothing; a
	// later one moves the expiry; past the TTL unused, it is refused.
	touches := st.touches
	for range 5 {
		if _, _, err := a.Visitor(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	if st.touches != touches {
		t.Fatalf("%d writes for uses within the touch interval", st.touches-touches)
	}
	st.age(parts[2], 2*time.Hour) // past the touch interval (1 h), within the TTL
	if _, _, err := a.Visitor(ctx, tok); err != nil || st.touches != touches+1 {
		t.Fatalf("a use after 2 h: %v, %d writes", err, st.touches-touches)
	}
	st.age(parts[2], 9*time.Hour) // 9 h after the last use: still valid
	if _, _, err := a.Visitor(ctx, tok); err != nil {
		t.Fatalf("9 h after the last use: %v", err)
	}
	st.age(parts[2], 11*time.Hour)
	if _, _, err := a.Visitor(ctx, tok); chat.ErrorCode(err) != chat.EUnauthorized || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("11 h unused: %v", err)
	}

	// Revocation ends one device's token; the visitor's other tokens stay.
	second, _ := a.IssueVisitorToken(ctx, "v-2")
	p2, _, err := a.Visitor(ctx, other)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.RevokeVisitorToken(ctx, p2); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Visitor(ctx, other); chat.ErrorCode(err) != chat.EUnauthorized {
		t.Fatalf("a revoked token: %v", err)
	}
	if _, _, err := a.Visitor(ctx, second); err != nil {
		t.Fatalf("the visitor's other token after a revocation: %v", err)
	}
	if err := a.RevokeVisitorToken(ctx, chat.Principal{Agent: &chat.Agent{ID: "x"}}); chat.ErrorCode(err) != chat.EForbidden {
		t.Fatalf("revoking a staff principal's token: %v", err)
	}
}

func flip(s string) string {
	b := []byte(s)
	if b[0] == 'A' {
		b[0] = 'B'
	} else {
		b[0] = 'A'
	}
	return string(b)
}

// A visitor token is never a staff credential, and a staff token never a
// visitor's.
// TestIdentityRequiredRefusesAnonymousTokens: once a site requires
// signed-in customers, a token an anonymous visitor got before is refused
// on use; a signed-in customer's token still works.
func TestIdentityRequiredRefusesAnonymousTokens(t *testing.T) {
	ctx := context.Background()
	secret := []byte("0123456789abcdef")
	before, st := newAuth(t, Config{VisitorTokenTTL: time.Hour, IdentitySecret: secret})
	st.addVisitor("anon")
	st.addVisitor("known")
	st.visitors["known"].UserID = "u-42"
	anon, _ := before.IssueVisitorToken(ctx, "anon")
	known, _ := before.IssueVisitorToken(ctx, "known")
	if _, _, err := before.Visitor(ctx, anon); err != nil {
		t.Fatalf("anonymous token while identity is optional: %v", err)
	}
	after := New(Config{VisitorTokenTTL: time.Hour, IdentitySecret: secret, IdentityRequired: true}, st, before.rdb,
		NewSigner([]byte("0123456789abcdef0123456789abcdef")), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if _, _, err := after.Visitor(ctx, anon); chat.ErrorCode(err) != chat.EIdentityNeeded {
		t.Fatalf("anonymous token once identity is required: %v, want %s", err, chat.EIdentityNeeded)
	}
	if p, _, err := after.Visitor(ctx, known); err != nil || p.VisitorID != "known" {
		t.Fatalf("signed-in customer's token: %+v %v", p, err)
	}
}

func TestCredentialKinds(t *testing.T) {
	ctx := context.Background()
	a, st := newAuth(t, Config{})
	st.addVisitor("v-1")
	vtok, _ := a.IssueVisitorToken(ctx, "v-1")
	st.sessions["s_staff"] = &chat.Agent{ID: "ece", Role: chat.RoleAgent}
	if _, err := a.Staff(ctx, vtok); chat.ErrorCode(err) != chat.EUnauthorized {
		t.Fatalf("a visitor token as a staff session: %v", err)
	}
	if _, _, err := a.Visitor(ctx, "s_staff"); chat.ErrorCode(err) != chat.EUnauthorized {
		t.Fatalf("a staff session as a visitor token: %v", err)
	}
	p, err := a.Principal(ctx, vtok)
	if err != nil || p.VisitorID != "v-1" || p.IsStaff() {
		t.Fatalf("visitor principal: %+v %v", p, err)
	}
	if err := Allow(p, StaffSession); chat.ErrorCode(err) != chat.EForbidden {
		t.Fatalf("a visitor opening a staff session: %v", err)
	}
	p, err = a.Principal(ctx, "s_staff")
	if err != nil || !p.IsStaff() {
		t.Fatalf("staff principal: %+v %v", p, err)
	}
	for _, act := range []Action{StartChat, RateChat, VisitorSession} {
		if err := Allow(p, act); chat.ErrorCode(err) != chat.EForbidden {
			t.Errorf("staff may %s: %v", act, err)
		}
	}
}

func TestCheckIdentity(t *testing.T) {
	secret := []byte("site-secret-0123456789")
	good := IdentityHash(secret, "42")
	tests := []struct {
		name     string
		secret   []byte
		required bool
		id, hash string
		want     string
	}{
		{"no claim, not required", secret, false, "", "", ""},
		{"no claim, required", secret, true, "", "", chat.EIdentityNeeded},
		{"a valid claim", secret, false, "42", good, ""},
		{"a valid claim in upper case", secret, false, "42", strings.ToUpper(good), ""},
		{"a valid claim, required", secret, true, "42", good, ""},
		{"the hash of another id", secret, false, "43", good, chat.EIdentity},
		{"an id without a hash", secret, false, "42", "", chat.EIdentity},
		{"a hash without an id", secret, false, "", good, chat.EIdentity},
		{"a hash made with another secret", secret, false, "42", IdentityHash([]byte("other"), "42"), chat.EIdentity},
		{"a plain SHA-256 of the id", secret, false, "42", "73475cb40a568e8da8a045ced110137e159f890ac4da883b6b17dc651b3a8049", chat.EIdentity},
		{"no secret configured", nil, false, "42", IdentityHash(nil, "42"), chat.EIdentity},
		{"an id too long", secret, false, strings.Repeat("x", 257), IdentityHash(secret, strings.Repeat("x", 257)), chat.EIdentity},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, _ := newAuth(t, Config{IdentitySecret: tt.secret, IdentityRequired: tt.required})
			if got := code(a.CheckIdentity(tt.id, tt.hash)); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
	// The documented recipe, as a site computes it:
	// echo -n 42 | openssl dgst -sha256 -hmac secret
	if got := IdentityHash([]byte("secret"), "42"); got != "93c121e7aa437a1e01e3c512c6f0ce3c821a839025dca4408f85616de4aaee70" {
		t.Fatalf("IdentityHash = %q, not openssl's HMAC-SHA256", got)
	}
}

func TestCSRF(t *testing.T) {
	_, trusted, _ := net.ParseCIDR("10.0.0.0/8")
	a, _ := newAuth(t, Config{TrustedProxies: []*net.IPNet{trusted}})
	session := "s_abc"
	good := a.CSRFToken(session)
	tests := []struct {
		name, method, host, origin, fetchSite, token, remote string
		want                                                 string
	}{
		{"a read needs nothing", "GET", "chat.example.com", "https://evil.example", "cross-site", "", "", ""},
		{"the console's change", "POST", "chat.example.com", "https://chat.example.com", "same-origin", good, "", ""},
		{"a change without the token", "PATCH", "chat.example.com", "https://chat.example.com", "same-origin", "", "", chat.ECSRF},
		{"a change with a wrong token", "POST", "chat.example.com", "https://chat.example.com", "", a.CSRFToken("s_other"), "", chat.ECSRF},
		{"another site's form, token guessed right", "POST", "chat.example.com", "https://evil.example", "cross-site", good, "", chat.ECSRF},
		{"an opaque origin", "DELETE", "chat.example.com", "null", "", good, "", chat.ECSRF},
		{"no Origin, cross-site fetch", "POST", "chat.example.com", "", "cross-site", good, "", chat.ECSRF},
		{"no Origin, same-site fetch", "POST", "chat.example.com", "", "same-site", good, "", chat.ECSRF},
		{"no Origin or Sec-Fetch-Site (not a browser), token right", "POST", "chat.example.com", "", "", good, "", ""},
		{"a trusted proxy's forwarded host", "POST", "internal:8080", "https://chat.example.com", "", good, "10.1.2.3:5555", ""},
		{"anyone else's forwarded host", "POST", "internal:8080", "https://chat.example.com", "", good, "192.0.2.1:5555", chat.ECSRF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, "http://"+tt.host+"/api/v1/agents", nil)
			if tt.origin != "" {
				r.Header.Set("Origin", tt.origin)
			}
			if tt.fetchSite != "" {
				r.Header.Set("Sec-Fetch-Site", tt.fetchSite)
			}
			if tt.token != "" {
				r.Header.Set(CSRFHeader, tt.token)
			}
			if tt.remote != "" {
				r.RemoteAddr = tt.remote
				r.Header.Set("X-Forwarded-Host", "chat.example.com")
			}
			if got := code(a.CheckCSRF(r, session)); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSessionCookies(t *testing.T) {
	_, trusted, _ := net.ParseCIDR("10.0.0.0/8")
	a, _ := newAuth(t, Config{TrustedProxies: []*net.IPNet{trusted}, SessionTTL: time.Hour})
	tests := []struct {
		name   string
		remote string
		proto  string
		tls    bool
		secure bool
	}{
		{"plain HTTP", "192.0.2.1:1", "", false, false},
		{"TLS", "192.0.2.1:1", "", true, true},
		{"a trusted proxy that says https", "10.0.0.5:1", "https", false, true},
		{"a trusted proxy that says http", "10.0.0.5:1", "http", false, false},
		{"anyone else saying https", "192.0.2.1:1", "https", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "http://chat.example.com/api/v1/auth/login", nil)
			r.RemoteAddr = tt.remote
			if tt.proto != "" {
				r.Header.Set("X-Forwarded-Proto", tt.proto)
			}
			if tt.tls {
				r.TLS = &tls.ConnectionState{}
			}
			cks := a.SessionCookies(r, "s_tok")
			if len(cks) != 2 {
				t.Fatalf("%d cookies", len(cks))
			}
			sess, csrf := cks[0], cks[1]
			if sess.Name != SessionCookie || !sess.HttpOnly || sess.Secure != tt.secure || sess.SameSite != 3 || sess.MaxAge != 3600 {
				t.Errorf("session cookie %+v", sess)
			}
			if csrf.Name != CSRFCookie || csrf.HttpOnly || csrf.Secure != tt.secure || csrf.Value != a.CSRFToken("s_tok") || csrf.SameSite != 3 {
				t.Errorf("csrf cookie %+v", csrf)
			}
		})
	}
	for _, ck := range a.SessionCookies(httptest.NewRequest("POST", "/", nil), "") {
		if ck.MaxAge >= 0 || ck.Value != "" {
			t.Errorf("logout cookie %+v does not delete", ck)
		}
	}
}

// FuzzVisitorToken (seeded from testdata/fuzz/FuzzVisitorToken): no string
// but the one the signer made verifies, and none panics.
func FuzzVisitorToken(f *testing.F) {
	s := NewSigner([]byte("fuzz-secret"))
	good := s.VisitorToken("v-1", "t-1")
	f.Add(good)
	f.Add("v2....")
	f.Add("v1.a.b")
	f.Add("v2.a.b.c.d")
	f.Fuzz(func(t *testing.T, tok string) {
		vid, tid, err := s.Visitor(tok)
		if err != nil {
			if chat.ErrorCode(err) != chat.EUnauthorized {
				t.Fatalf("code %q", chat.ErrorCode(err))
			}
			return
		}
		if tok != s.VisitorToken(vid, tid) {
			t.Fatalf("%q verified as %q/%q", tok, vid, tid)
		}
	})
}
