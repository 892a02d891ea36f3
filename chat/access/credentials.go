package access

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
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

// Signer makes and checks the tokens the server signs with the
// installation's secret, which is shared through the database so any node
// verifies any token: visitor tokens "v2.<visitor id>.<token id>.<mac>"
// and the console's CSRF tokens. A visitor token's signature is checked
// before anything is looked up, so a forged one costs no database read;
// the token id then names the stored token, which expires unused and can
// be revoked (see Authenticator.Visitor).
type Signer struct{ secret []byte }

// NewSigner returns a Signer for secret.
func NewSigner(secret []byte) *Signer { return &Signer{secret: secret} }

// visitorPrefix starts every visitor token. Tokens of the first format,
// "v1.<visitor id>.<mac>", could be neither expired nor revoked and are no
// longer accepted.
const visitorPrefix = "v2."

// IsVisitorToken reports whether token has the shape of a visitor token
// (of any version), as opposed to a staff session or an API key.
func IsVisitorToken(token string) bool {
	return strings.HasPrefix(token, "v1.") || strings.HasPrefix(token, visitorPrefix)
}

// VisitorToken signs a visitor's token tokenID.
func (s *Signer) VisitorToken(visitorID, tokenID string) string {
	return visitorPrefix + visitorID + "." + tokenID + "." + s.mac("visitor:"+visitorID+":"+tokenID)
}

// Visitor returns the visitor id and token id inside a token whose
// signature is valid.
func (s *Signer) Visitor(token string) (visitorID, tokenID string, err error) {
	if strings.HasPrefix(token, "v1.") {
		return "", "", chat.Errorf(chat.EUnauthorized, "visitor token of an old format; get a new one")
	}
	parts := strings.Split(token, ".")
	if len(parts) != 4 || parts[0]+"." != visitorPrefix || parts[1] == "" || parts[2] == "" {
		return "", "", chat.Errorf(chat.EUnauthorized, "malformed visitor token")
	}
	if !hmac.Equal([]byte(parts[3]), []byte(s.mac("visitor:"+parts[1]+":"+parts[2]))) {
		return "", "", chat.Errorf(chat.EUnauthorized, "invalid visitor token")
	}
	return parts[1], parts[2], nil
}

// CSRFToken is the console's CSRF token for a staff session: derived from
// the session token, so it needs no storage, changes with every login and
// cannot be made without the secret.
func (s *Signer) CSRFToken(session string) string { return s.mac("csrf:" + session) }

func (s *Signer) mac(msg string) string {
	m := hmac.New(sha256.New, s.secret)
	m.Write([]byte(msg))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// IdentityHash is what a site's server sends as user_hash for its
// customer userID: the lowercase hex HMAC-SHA256 of userID keyed with
// CHAT_IDENTITY_SECRET.
func IdentityHash(secret []byte, userID string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(userID))
	return hex.EncodeToString(m.Sum(nil))
}

// CheckIdentity checks a site's signature of its customer's id. Without a
// secret no claim is believed.
func CheckIdentity(secret []byte, userID, userHash string) error {
	if len(secret) == 0 {
		return chat.Errorf(chat.EIdentity, "identity verification is not configured (CHAT_IDENTITY_SECRET)")
	}
	if userID == "" || len(userID) > 256 {
		return chat.Errorf(chat.EIdentity, "user_id must be 1 to 256 bytes")
	}
	if !hmac.Equal([]byte(strings.ToLower(userHash)), []byte(IdentityHash(secret, userID))) {
		return chat.Errorf(chat.EIdentity, "user_hash is not the HMAC-SHA256 of user_id")
	}
	return nil
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
