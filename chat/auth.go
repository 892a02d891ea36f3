package chat

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// HashPassword hashes a staff password with bcrypt.
func HashPassword(pw string) (string, error) {
	if len(pw) < 8 {
		return "", Errorf(EInvalid, "password must be at least 8 characters")
	}
	if len(pw) > 72 {
		return "", Errorf(EInvalid, "password must be at most 72 bytes")
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
		return "", Errorf(EUnauthorized, "malformed visitor token")
	}
	if !hmac.Equal([]byte(parts[2]), []byte(s.mac(parts[1]))) {
		return "", Errorf(EUnauthorized, "invalid visitor token")
	}
	return parts[1], nil
}

func (s *Signer) mac(id string) string {
	m := hmac.New(sha256.New, s.secret)
	m.Write([]byte("visitor:" + id))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}
