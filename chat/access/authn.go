package access

import (
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/chatd/chatd/chat"
)

// SessionCookie names the console's session cookie.
const SessionCookie = "chatd_session"

// Store is what the Authenticator reads and writes of credentials.
type Store interface {
	AuditStore
	VisitorTokens
	AgentByEmail(ctx context.Context, email string) (*chat.Agent, error)
	SessionAgent(ctx context.Context, token string) (*chat.Agent, error)
	CreateSession(ctx context.Context, agentID string, ttl time.Duration) (string, error)
	DeleteSession(ctx context.Context, token string) error
	APIKey(ctx context.Context, key string) (*chat.APIKey, error)
}

// Config tunes an Authenticator; its zero value means the defaults.
type Config struct {
	Prefix     string        // Redis key prefix, default "{chatd}:"
	LoginLimit int           // failed logins per address and email in 15 minutes, default 10
	SessionTTL time.Duration // staff login lifetime, default 30 days
	// VisitorTokenTTL is how long an unused visitor token stays valid,
	// default 90 days; each use moves its end.
	VisitorTokenTTL time.Duration
	// IdentitySecret (CHAT_IDENTITY_SECRET) verifies the ids sites sign
	// for their logged-in customers; IdentityRequired refuses visitors
	// without one.
	IdentitySecret   []byte
	IdentityRequired bool
	// TrustedProxies are the peers whose X-Forwarded-Proto is believed
	// when deciding whether a request came over TLS.
	TrustedProxies []*net.IPNet
}

// Authenticator turns credentials into principals and staff passwords into
// sessions.
type Authenticator struct {
	cfg    Config
	store  Store
	rdb    redis.UniversalClient
	signer *Signer
	pw     *passwords
	audit  *Auditor
	log    *slog.Logger
}

// New returns an Authenticator. rdb holds the login throttle's counts, so
// the limit holds across the cluster.
func New(cfg Config, store Store, rdb redis.UniversalClient, signer *Signer, log *slog.Logger) *Authenticator {
	if cfg.Prefix == "" {
		cfg.Prefix = "{chatd}:"
	}
	if cfg.LoginLimit <= 0 {
		cfg.LoginLimit = 10
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 30 * 24 * time.Hour
	}
	if cfg.VisitorTokenTTL <= 0 {
		cfg.VisitorTokenTTL = 90 * 24 * time.Hour
	}
	return &Authenticator{cfg: cfg, store: store, rdb: rdb, signer: signer, pw: newPasswords(), audit: NewAuditor(store), log: log}
}

// Config returns the configuration in use, defaults filled in.
func (a *Authenticator) Config() Config { return a.cfg }

// Signer makes visitor tokens.
func (a *Authenticator) Signer() *Signer { return a.signer }

// SessionTTL is how long a staff login lasts.
func (a *Authenticator) SessionTTL() time.Duration { return a.cfg.SessionTTL }

// Token finds the credential a request carries: a bearer token, then the
// console's session cookie. Only WebSocket upgrades (a browser cannot set
// their headers) also look at ?token=.
func Token(r *http.Request, query bool) string {
	t, _ := Credential(r, query)
	return t
}

// Credential is Token, also saying whether the token came from the
// session cookie: the one credential a browser attaches by itself, so the
// one a change must prove was meant (CheckCSRF).
func Credential(r *http.Request, query bool) (token string, cookie bool) {
	if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
		return strings.TrimSpace(strings.TrimPrefix(h, "Bearer ")), false
	}
	if query {
		if t := r.URL.Query().Get("token"); t != "" {
			return t, false
		}
	}
	if ck, err := r.Cookie(SessionCookie); err == nil {
		return ck.Value, true
	}
	return "", false
}

// Principal returns who holds token: a visitor ("v2." tokens), an
// integrator ("ck_" API keys) or staff (session tokens). An empty token is
// nobody, without an error.
func (a *Authenticator) Principal(ctx context.Context, token string) (chat.Principal, error) {
	switch {
	case token == "":
		return chat.Principal{}, nil
	case IsVisitorToken(token):
		p, _, err := a.Visitor(ctx, token)
		return p, err
	case strings.HasPrefix(token, "ck_"):
		k, err := a.store.APIKey(ctx, token)
		if err != nil {
			return chat.Principal{}, err
		}
		return chat.Principal{APIKey: k}, nil
	}
	return a.Staff(ctx, token)
}

// Staff returns the staff member holding a live session token.
func (a *Authenticator) Staff(ctx context.Context, token string) (chat.Principal, error) {
	if token == "" {
		return chat.Principal{}, chat.Errorf(chat.EUnauthorized, "log in first")
	}
	ag, err := a.store.SessionAgent(ctx, token)
	if err != nil {
		return chat.Principal{}, err
	}
	return chat.Principal{Agent: ag}, nil
}

// Login checks a staff member's password and opens a session, returning
// its token. Each attempt for one email from one address is counted before
// the password is checked, so parallel attempts cannot race past the limit;
// a success takes its count back.
func (a *Authenticator) Login(ctx context.Context, ip, email, password string) (string, *chat.Agent, error) {
	if email == "" || password == "" {
		return "", nil, chat.Errorf(chat.EInvalid, "email and password are required, as a JSON object or form fields")
	}
	if len(email) > 254 || len(password) > 1024 {
		return "", nil, chat.Errorf(chat.EInvalid, "email or password too long")
	}
	key := a.loginKey(ip, email)
	pipe := a.rdb.TxPipeline()
	n := pipe.Incr(ctx, key)
	pipe.Expire(ctx, key, 16*time.Minute)
	if _, err := pipe.Exec(ctx); err != nil {
		return "", nil, fmt.Errorf("login throttle: %w", err)
	}
	if n.Val() > int64(a.cfg.LoginLimit) {
		if n.Val() == int64(a.cfg.LoginLimit)+1 { // once a window, not once a request
			a.auditFailure(ctx, ip, AuditLoginThrottled, nil)
		}
		return "", nil, chat.Errorf(chat.ETooManyLogins, "too many failed logins; try again in 15 minutes")
	}
	ag, err := a.store.AgentByEmail(ctx, email)
	if err != nil && chat.ErrorCode(err) != chat.ENotFound {
		return "", nil, err
	}
	hash := ""
	if ag != nil {
		hash = ag.PasswordHash
	}
	ok, err := a.pw.check(ctx, hash, password)
	if err != nil {
		return "", nil, err
	}
	if !ok || ag.Disabled {
		a.auditFailure(ctx, ip, AuditLoginFailed, ag)
		return "", nil, chat.Errorf(chat.EUnauthorized, "wrong email or password")
	}
	if err := a.rdb.Decr(ctx, key).Err(); err != nil {
		a.log.Warn("login count", "err", err)
	}
	tok, err := a.store.CreateSession(ctx, ag.ID, a.cfg.SessionTTL)
	if err != nil {
		return "", nil, err
	}
	// A login the audit log does not hold does not happen.
	if err := a.audit.Record(ctx, chat.Principal{Agent: ag}, AuditLogin, ObjectAgent, ag.ID, "ip="+ip); err != nil {
		_ = a.store.DeleteSession(context.WithoutCancel(ctx), tok)
		return "", nil, err
	}
	return tok, ag, nil
}

// auditFailure records a refused login: the actor is the address; the
// object the account, when the email names one. What was typed as the
// email of an unknown account is not kept (it may be a password typed in
// the wrong field). A failure to record it is logged: the answer is a
// refusal either way.
func (a *Authenticator) auditFailure(ctx context.Context, ip, action string, ag *chat.Agent) {
	id, detail := "", "unknown account"
	if ag != nil {
		id, detail = ag.ID, "wrong password"
		if ag.Disabled {
			detail = "account disabled"
		}
	}
	if action == AuditLoginThrottled {
		detail = "too many failed logins for one email from this address"
	}
	if err := a.audit.RecordAnonymous(context.WithoutCancel(ctx), ip, action, ObjectAgent, id, detail); err != nil {
		a.log.Error("audit login failure", "err", err)
	}
}

// Logout ends the session token names; any other token is left alone.
func (a *Authenticator) Logout(ctx context.Context, token string) error {
	if token == "" || IsVisitorToken(token) || strings.HasPrefix(token, "ck_") {
		return nil
	}
	p, err := a.Staff(ctx, token)
	if err != nil {
		return nil // nothing live to end
	}
	if err := a.store.DeleteSession(ctx, token); err != nil {
		return err
	}
	return a.audit.Record(ctx, p, AuditLogout, ObjectAgent, p.Agent.ID, "")
}

// loginKey names the count of login attempts from this address for this
// email in the current 15-minute window. The email is hashed: a key never
// grows with input.
func (a *Authenticator) loginKey(ip, email string) string {
	window := time.Now().Unix() / 900
	sum := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(email))))
	return fmt.Sprintf("%slogin:%s:%x:%d", a.cfg.Prefix, ip, sum[:16], window)
}

type principalKey struct{}

type authResult struct {
	p   chat.Principal
	err error
}

// WithPrincipal returns ctx carrying who a request comes from (or why its
// credential was refused), for handlers to read with From.
func WithPrincipal(ctx context.Context, p chat.Principal, err error) context.Context {
	return context.WithValue(ctx, principalKey{}, authResult{p, err})
}

// From returns the principal WithPrincipal stored; a refused credential
// is its error.
func From(ctx context.Context) (chat.Principal, error) {
	r, _ := ctx.Value(principalKey{}).(authResult)
	return r.p, r.err
}

// Require returns the request's principal if it may try action a.
func Require(ctx context.Context, a Action) (chat.Principal, error) {
	p, err := From(ctx)
	if err != nil {
		return p, err
	}
	return p, Allow(p, a)
}
