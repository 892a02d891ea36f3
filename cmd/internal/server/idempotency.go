package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/chat/access"
)

// IdempotencyTTL is how long an Idempotency-Key's answer is kept.
const IdempotencyTTL = 24 * time.Hour

// secretAnswers names the routes whose answer holds a secret shown once,
// and the fields that hold it. Their answers are kept without those fields
// (a secret is never stored in the clear), and a repeat of the request is
// told so (409 secret_shown_once, naming what the first request made)
// instead of being given the secret again or making a second one.
var secretAnswers = map[string][]string{
	"/api/v1/apikeys":    {"key"},
	"/api/v1/webhooks":   {"secret"},
	"/api/v1/visitors":   {"token"},
	"/api/v1/auth/login": {"token"},
}

// idempotencyLease is how long a claimed key may go unanswered before a
// retry of the same request takes it over: the node that claimed it is
// then taken to have died mid-request. Twice the time a request may take
// to arrive, and never under a minute.
func (s *Server) idempotencyLease() time.Duration {
	return max(2*s.Cfg.RequestTimeout, time.Minute)
}

// idempotent honours the Idempotency-Key header on every POST of the API:
// the first request with a key runs and its answer is stored (unless the
// server failed, 5xx, so a retry runs it again); the same key with the same
// method, path and body gets that answer again, marked Idempotent-Replayed;
// with another request it is 422 idempotency_key_reused; while the first
// is still running, 409 conflict (until its lease runs out: then the
// retry runs it). An answer holding a secret is kept without it
// (secretAnswers). Keys belong to the principal that sent
// them (a request without a credential ignores the header: two strangers'
// keys must not meet).
func (s *Server) idempotent(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		key := r.Header.Get("Idempotency-Key")
		if r.Method != http.MethodPost || key == "" || !strings.HasPrefix(r.URL.Path, "/api/v1/") {
			return next(c)
		}
		p, _ := access.From(r.Context())
		scope := p.Key()
		if scope == "" {
			return next(c)
		}
		if len(key) > 255 {
			return chat.Errorf(chat.EInvalid, "Idempotency-Key is longer than 255 bytes")
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return chat.Errorf(chat.EPayloadTooBig, "request body too large")
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		h := sha256.New()
		h.Write([]byte(r.Method + " " + r.URL.RequestURI() + "\n"))
		h.Write(body)
		hash := hex.EncodeToString(h.Sum(nil))
		ctx := r.Context()
		prev, err := s.DB.BeginIdempotent(ctx, scope, key, hash, IdempotencyTTL, s.idempotencyLease())
		if err != nil {
			return err
		}
		if prev != nil {
			switch {
			case prev.RequestHash != hash:
				return chat.Errorf(chat.EIdempotencyKey, "this Idempotency-Key was used for another request")
			case prev.Status == 0:
				return chat.Errorf(chat.EConflict, "a request with this Idempotency-Key is still running")
			case prev.Secret != 0:
				return chat.Errorf(chat.ESecretOnce, "the first request with this Idempotency-Key made %s (status %d); its secret is shown once only and is not kept: revoke it and make another if it was lost", made(c.Path(), prev.Body), prev.Status)
			}
			c.Response().Header().Set("Idempotent-Replayed", "true")
			return c.Blob(prev.Status, echo.MIMEApplicationJSON, []byte(prev.Body))
		}
		rec := &recorder{ResponseWriter: c.Response().Writer}
		c.Response().Writer = rec
		if err := next(c); err != nil {
			c.Error(err)
		}
		status := c.Response().Status
		if status >= 500 {
			return s.DB.AbandonIdempotent(ctx, scope, key)
		}
		answer, secret := rec.body.String(), false
		if fields, ok := secretAnswers[c.Path()]; ok && status < 300 { // a refusal holds no secret: it is replayed as it was
			answer, secret = redact(rec.body.Bytes(), fields), true
		}
		return s.DB.FinishIdempotent(ctx, scope, key, status, answer, secret)
	}
}

// made names what a request with a secret answer made, from its stored
// (redacted) answer: "API key <id>", "webhook <id>", "visitor <id>" (with
// its token), "a session of agent <id>".
func made(path, answer string) string {
	var a struct {
		ID        string `json:"id"`
		VisitorID string `json:"visitor_id"`
		Agent     struct {
			ID string `json:"id"`
		} `json:"agent"`
	}
	_ = json.Unmarshal([]byte(answer), &a)
	switch {
	case path == "/api/v1/apikeys" && a.ID != "":
		return "API key " + a.ID
	case path == "/api/v1/webhooks" && a.ID != "":
		return "webhook " + a.ID
	case path == "/api/v1/visitors" && a.VisitorID != "":
		return "visitor " + a.VisitorID + " and its token"
	case path == "/api/v1/auth/login" && a.Agent.ID != "":
		return "a session (token) of agent " + a.Agent.ID
	case a.ID != "":
		return a.ID
	}
	return "a secret"
}

// redact returns a JSON object answer without fields (an answer that is
// not an object is not kept at all).
func redact(answer []byte, fields []string) string {
	var obj map[string]json.RawMessage
	if json.Unmarshal(answer, &obj) != nil {
		return "{}"
	}
	for _, f := range fields {
		delete(obj, f)
	}
	b, _ := json.Marshal(obj)
	return string(b)
}

// recorder keeps a copy of the answer as it is written.
type recorder struct {
	http.ResponseWriter
	body bytes.Buffer
}

func (r *recorder) Write(b []byte) (int, error) {
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}
