// Package rest holds the conventions every REST handler of chatd shares:
// how a JSON body is read and how a page size is asked for. Handlers live
// with what they serve (chat/accounts, chat/live, transcript); errors they
// return become HTTP answers in one place, the server's error handler.
package rest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/chatd/chatd/chat"
)

// Bind decodes a request body that is a JSON object whatever Content-Type
// the client sent (curl -d says form); any other body goes through echo's
// binder, so form fields work too. Its errors are the client's: a body too
// large, not an object, or text holding NUL (which PostgreSQL cannot store).
func Bind(c echo.Context, v any) error {
	req := c.Request()
	body, err := io.ReadAll(req.Body)
	if err != nil {
		var he *echo.HTTPError
		if errors.As(err, &he) && he.Code == http.StatusRequestEntityTooLarge {
			return chat.Errorf(chat.EPayloadTooBig, "request body too large")
		}
		return chat.Errorf(chat.EInvalid, "request body could not be read")
	}
	if t := bytes.TrimSpace(body); len(t) > 0 && t[0] == '{' {
		err = json.Unmarshal(t, v)
	} else {
		req.Body = io.NopCloser(bytes.NewReader(body))
		err = c.Bind(v)
	}
	if err != nil {
		return chat.Errorf(chat.EInvalid, "body must be a JSON object (or form fields) with the documented fields")
	}
	if chat.HasNUL(v) {
		return chat.ErrNUL
	}
	return nil
}

// Limit reads ?limit= (1 to max, def when absent).
func Limit(c echo.Context, def, max int) (int, error) {
	return LimitOf(c.QueryParam("limit"), def, max)
}

// LimitOf reads a page size v (1 to max, def when empty).
func LimitOf(v string, def, max int) (int, error) {
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > max {
		return 0, chat.Errorf(chat.EInvalid, "limit must be 1 to %d", max)
	}
	return n, nil
}
