package main

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/chatd/chatd/chat"
)

// errorBody is the JSON shape of every HTTP error.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// errorHandler is the one place errors become HTTP responses: our coded
// errors keep their code, echo's own errors (404 route, 405, body limit) get
// one, and anything else is logged and reported as internal.
func errorHandler(log *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		var body errorBody
		status := http.StatusInternalServerError
		var ce *chat.Error
		var he *echo.HTTPError
		switch {
		case errors.As(err, &ce):
			body.Error.Code, body.Error.Message = ce.Code, ce.Message
			status = chat.HTTPStatus(ce.Code)
		case errors.As(err, &he):
			status = he.Code
			body.Error.Code, body.Error.Message = httpCode(he.Code), http.StatusText(he.Code)
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

func httpCode(status int) string {
	switch status {
	case http.StatusNotFound:
		return chat.ENotFound
	case http.StatusMethodNotAllowed:
		return "method_not_allowed"
	case http.StatusRequestEntityTooLarge:
		return chat.EPayloadTooBig
	case http.StatusUnauthorized:
		return chat.EUnauthorized
	case http.StatusForbidden:
		return chat.EForbidden
	case http.StatusTooManyRequests:
		return chat.ERateLimited
	case http.StatusBadRequest:
		return chat.EInvalid
	case http.StatusServiceUnavailable:
		return chat.EUnavailable
	}
	return chat.EInternal
}
