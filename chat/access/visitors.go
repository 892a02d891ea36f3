package access

import (
	"context"
	"time"

	"github.com/chatd/chatd/chat"
)

// A visitor holds one token per device. The token is signed, so a forged
// one is refused before any lookup; it names a stored token row, so it can
// be revoked ("forget me on this device", erasure) and expires when it has
// gone unused for the token TTL. Each use moves the expiry, but the row is
// written at most once per touch interval (a tenth of the TTL, at most a
// day): checking a token is one database read, as checking the visitor it
// names always was, and no request waits on a write.

// VisitorTokens is what the Authenticator reads and writes of visitor
// tokens.
type VisitorTokens interface {
	// VisitorToken returns the visitor holding token tokenID and when the
	// token was last used; ENotFound when there is no such token.
	VisitorToken(ctx context.Context, tokenID string) (*chat.Visitor, time.Time, error)
	TouchVisitorToken(ctx context.Context, tokenID string, at time.Time) error
	CreateVisitorToken(ctx context.Context, visitorID string) (tokenID string, err error)
	RevokeVisitorToken(ctx context.Context, tokenID string) error
}

// touchEvery is how stale a token's last use may be before a use writes it.
func (a *Authenticator) touchEvery() time.Duration {
	return min(a.cfg.VisitorTokenTTL/10, 24*time.Hour)
}

// Visitor checks a visitor token and returns the visitor it names.
func (a *Authenticator) Visitor(ctx context.Context, token string) (chat.Principal, *chat.Visitor, error) {
	visitorID, tokenID, err := a.signer.Visitor(token)
	if err != nil {
		return chat.Principal{}, nil, err
	}
	v, used, err := a.store.VisitorToken(ctx, tokenID)
	if chat.ErrorCode(err) == chat.ENotFound {
		return chat.Principal{}, nil, chat.Errorf(chat.EUnauthorized, "visitor token revoked or unknown")
	}
	if err != nil {
		return chat.Principal{}, nil, err
	}
	if v.ID != visitorID {
		return chat.Principal{}, nil, chat.Errorf(chat.EUnauthorized, "invalid visitor token")
	}
	if a.cfg.IdentityRequired && v.UserID == "" {
		// A token given to an anonymous visitor before the site began
		// to require signed-in customers is worth nothing since.
		return chat.Principal{}, nil, chat.Errorf(chat.EIdentityNeeded, "this site accepts signed-in customers only: sign in again with user_id and user_hash")
	}
	idle := time.Since(used)
	if idle > a.cfg.VisitorTokenTTL {
		return chat.Principal{}, nil, chat.Errorf(chat.EUnauthorized, "visitor token expired")
	}
	if idle > a.touchEvery() {
		if err := a.store.TouchVisitorToken(ctx, tokenID, time.Now()); err != nil {
			a.log.Warn("touch visitor token", "err", err) // it is valid either way
		}
	}
	return chat.Principal{VisitorID: v.ID, TokenID: tokenID}, v, nil
}

// IssueVisitorToken makes a new token (a new device) for a stored visitor.
func (a *Authenticator) IssueVisitorToken(ctx context.Context, visitorID string) (string, error) {
	tokenID, err := a.store.CreateVisitorToken(ctx, visitorID)
	if err != nil {
		return "", err
	}
	return a.signer.VisitorToken(visitorID, tokenID), nil
}

// RevokeVisitorToken ends the token p came with; its other devices' tokens
// stay valid.
func (a *Authenticator) RevokeVisitorToken(ctx context.Context, p chat.Principal) error {
	if p.VisitorID == "" || p.TokenID == "" {
		return chat.Errorf(chat.EForbidden, "only a visitor token can be revoked here")
	}
	return a.store.RevokeVisitorToken(ctx, p.TokenID)
}

// CheckIdentity checks a site's signature of its customer id with the
// configured secret; with no claim it says whether the site requires one.
func (a *Authenticator) CheckIdentity(userID, userHash string) error {
	if userID == "" && userHash == "" {
		if a.cfg.IdentityRequired {
			return chat.Errorf(chat.EIdentityNeeded, "this site accepts signed-in customers only: send user_id and user_hash")
		}
		return nil
	}
	return CheckIdentity(a.cfg.IdentitySecret, userID, userHash)
}
