package chat

import (
	"errors"
	"fmt"
)

// Error codes: the stable, snake_case codes of the public protocol. Every
// HTTP error body and every WebSocket error frame carries one; the HTTP
// status of each is decided in one place, the server's error handler.
const (
	EInvalid         = "invalid_request"
	EBadFrame        = "bad_frame"
	EUnknownType     = "unknown_type"
	EMissingClient   = "missing_client_id"
	ETooLarge        = "message_too_large"
	EAgeRequired     = "age_confirmation_required"
	EUnknownUnit     = "unknown_unit"
	EUnauthorized    = "unauthorized"
	EForbidden       = "forbidden"
	ENotFound        = "not_found"
	EConflict        = "conflict"
	EIllegalState    = "illegal_transition"
	EChatClosed      = "chat_closed"
	ENotAssigned     = "not_assigned"
	EAgentFull       = "agent_full"
	EAgentAway       = "agent_unavailable"
	ERateLimited     = "rate_limited"
	ETooManyLogins   = "too_many_attempts"
	EUnavailable     = "unavailable"
	EInternal        = "internal"
	EBadOrigin       = "origin_not_allowed"
	EPayloadTooBig   = "payload_too_large"
	EInvalidRating   = "invalid_rating"
	EInvalidPresence = "invalid_status"
	EIdentity        = "identity_invalid"  // a customer id whose signature is wrong or missing
	EIdentityNeeded  = "identity_required" // the site accepts verified customers only
	ECSRF            = "csrf_failed"       // a cookie-authenticated change without the CSRF token or from another origin
	EIdempotencyKey  = "idempotency_key_reused"
	ESecretOnce      = "secret_shown_once" // a repeated request whose first answer held a secret, which is not kept
)

// Error is an error the client should see, with a protocol code.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf makes an *Error with a formatted message. Messages quote what the
// client sent, so they are cut at maxMessage bytes: an error never echoes
// a whole oversized value.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: Cut(fmt.Sprintf(format, args...), maxMessage)}
}

const maxMessage = 200

// ErrorCode returns the code of the first *Error in err's chain, or EInternal.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// ErrorMessage returns the message meant for clients; internal errors are
// not described to them.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
