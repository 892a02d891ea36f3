package server

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/chatd/chatd/chat"
)

// ErrorBody is the JSON shape of every HTTP error.
type ErrorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// statuses is the one map from error codes to HTTP statuses.
var statuses = map[string]int{
	chat.EInvalid:         http.StatusBadRequest,
	chat.EBadFrame:        http.StatusBadRequest,
	chat.EUnknownType:     http.StatusBadRequest,
	chat.EMissingClient:   http.StatusBadRequest,
	chat.EUnknownUnit:     http.StatusBadRequest,
	chat.EInvalidRating:   http.StatusBadRequest,
	chat.EInvalidPresence: http.StatusBadRequest,
	chat.EUnauthorized:    http.StatusUnauthorized,
	chat.EForbidden:       http.StatusForbidden,
	chat.EBadOrigin:       http.StatusForbidden,
	chat.ENotFound:        http.StatusNotFound,
	chat.EConflict:        http.StatusConflict,
	chat.EIllegalState:    http.StatusConflict,
	chat.EChatClosed:      http.StatusConflict,
	chat.ENotAssigned:     http.StatusConflict,
	chat.EAgentFull:       http.StatusConflict,
	chat.EAgentAway:       http.StatusConflict,
	chat.ETooLarge:        http.StatusRequestEntityTooLarge,
	chat.EPayloadTooBig:   http.StatusRequestEntityTooLarge,
	chat.EAgeRequired:     http.StatusUnprocessableEntity,
	chat.EIdempotencyKey:  http.StatusUnprocessableEntity,
	chat.ESecretOnce:      http.StatusConflict,
	chat.ERateLimited:     http.StatusTooManyRequests,
	chat.ETooManyLogins:   http.StatusTooManyRequests,
	chat.EUnavailable:     http.StatusServiceUnavailable,
	chat.EIdentity:        http.StatusUnauthorized,
	chat.EIdentityNeeded:  http.StatusUnauthorized,
	chat.ECSRF:            http.StatusForbidden,
}

// Status is the HTTP status of an error code (500 for an unknown one).
func Status(code string) int {
	if s, ok := statuses[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// echoCodes names echo's own errors (unknown route, wrong method, body
// limit) in our codes.
var echoCodes = map[int]string{
	http.StatusNotFound:              chat.ENotFound,
	http.StatusMethodNotAllowed:      "method_not_allowed",
	http.StatusRequestEntityTooLarge: chat.EPayloadTooBig,
	http.StatusUnauthorized:          chat.EUnauthorized,
	http.StatusForbidden:             chat.EForbidden,
	http.StatusTooManyRequests:       chat.ERateLimited,
	http.StatusBadRequest:            chat.EInvalid,
	http.StatusServiceUnavailable:    chat.EUnavailable,
}

// errorHandler is the one place errors become HTTP responses: our coded
// errors keep their code, echo's own errors get one, and anything else is
// logged and reported as internal.
func errorHandler(log *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		var body ErrorBody
		status := http.StatusInternalServerError
		var ce *chat.Error
		var he *echo.HTTPError
		switch {
		case errors.As(err, &ce):
			body.Error.Code, body.Error.Message = ce.Code, ce.Message
			status = Status(ce.Code)
		case errors.As(err, &he):
			status = he.Code
			body.Error.Code, body.Error.Message = echoCodes[he.Code], http.StatusText(he.Code)
			if body.Error.Code == "" {
				body.Error.Code = chat.EInternal
			}
			if m, ok := he.Message.(string); ok && m != "" {
				body.Error.Message = m
			}
		default:
			body.Error.Code, body.Error.Message = chat.EInternal, "internal error"
		}
		if status >= 500 {
			log.Error("request failed", "err", err, "method", c.Request().Method, "path", c.Path(),
				"request_id", c.Response().Header().Get(echo.HeaderXRequestID))
		}
		if c.Request().Method == http.MethodHead {
			_ = c.NoContent(status)
			return
		}
		_ = c.JSON(status, body)
	}
}
