package access

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"runtime"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/chatd/chatd/chat"
)

// HashPassword hashes a staff password with bcrypt.
func HashPassword(pw string) (string, error) {
	if len(pw) < 8 {
		return "", chat.Errorf(chat.EInvalid, "password must be at least 8 characters")
	}
	if len(pw) > 72 {
		return "", chat.Errorf(chat.EInvalid, "password must be at most 72 bytes")
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.DefaultCost)
	if err != nil {
		return "", err
	}
	return string(h), nil
}

// Signer makes and checks visitor tokens: "v1.<visitor id>.<mac>". The
// secret is shared through the database, so any node verifies any token.
type Signer struct{ secret []byte }

// NewSigner returns a Signer for secret.
func NewSigner(secret []byte) *Signer { return &Signer{secret: secret} }

// VisitorToken signs a visitor id.
func (s *Signer) VisitorToken(visitorID string) string {
	return "v1." + visitorID + "." + s.mac(visitorID)
}

// Visitor returns the visitor id inside a valid token.
func (s *Signer) Visitor(token string) (string, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 || parts[0] != "v1" || parts[1] == "" {
		return "", chat.Errorf(chat.EUnauthorized, "malformed visitor token")
	}
	if !hmac.Equal([]byte(parts[2]), []byte(s.mac(parts[1]))) {
		return "", chat.Errorf(chat.EUnauthorized, "invalid visitor token")
	}
	return parts[1], nil
}

func (s *Signer) mac(id string) string {
	m := hmac.New(sha256.New, s.secret)
	m.Write([]byte("visitor:" + id))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// passwords checks staff passwords. bcrypt is slow on purpose; at most
// half the cores run it, so a burst of logins never starves the chats.
type passwords struct{ slots chan struct{} }

func newPasswords() *passwords {
	return &passwords{slots: make(chan struct{}, max(1, runtime.GOMAXPROCS(0)/2))}
}

// dummyHash is compared against when the email is unknown, so a wrong email
// takes as long as a wrong password and does not tell who is staff. It is
// made on first use: hashing at start would slow every process that links
// this package.
var dummyHash = sync.OnceValue(func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("not a password of anyone"), bcrypt.DefaultCost)
	return h
})

// check reports whether pw matches hash ("" for an unknown account: the
// answer is no, after as long as a real check takes). It waits up to 30 s
// for a free slot.
func (p *passwords) check(ctx context.Context, hash, pw string) (bool, error) {
	h := []byte(hash)
	if hash == "" {
		h = dummyHash()
	}
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return false, ctx.Err()
	case <-time.After(30 * time.Second): // a login storm: queue, then give up
		return false, chat.Errorf(chat.EUnavailable, "too many logins at once; try again")
	}
	ok := bcrypt.CompareHashAndPassword(h, []byte(pw)) == nil
	<-p.slots
	return ok && hash != "", nil
}
