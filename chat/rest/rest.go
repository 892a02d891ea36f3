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
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/chatd/chatd/chat"
)

// Bind decodes a request body that is a JSON object whatever Content-Type
// the client sent (curl -d says form); any other body goes through echo's
// binder, so form fields work too. Its errors are the client's: a body too
// large, not an object, a field of the wrong type (named), or text that is
// not UTF-8 or holds NUL (text is stored as sent: encoding/json would
// silently turn bad bytes into U+FFFD, and PostgreSQL cannot store NUL).
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
	if !utf8.Valid(body) {
		return errNotUTF8
	}
	if t := bytes.TrimSpace(body); len(t) > 0 && t[0] == '{' {
		if err = json.Unmarshal(t, v); err != nil {
			return jsonError(err)
		}
	} else {
		if form, ferr := url.ParseQuery(string(body)); ferr == nil && strings.HasPrefix(req.Header.Get(echo.HeaderContentType), echo.MIMEApplicationForm) {
			for k, vs := range form {
				if !utf8.ValidString(k) || !validStrings(vs) {
					return errNotUTF8
				}
			}
		}
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

var errNotUTF8 = chat.Errorf(chat.EInvalid, "request body must be UTF-8 text")

func validStrings(vs []string) bool {
	for _, s := range vs {
		if !utf8.ValidString(s) {
			return false
		}
	}
	return true
}

// jsonError words a JSON decoding error for the client, naming the field
// whose value has the wrong type.
func jsonError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return chat.Errorf(chat.EInvalid, "field %q must be %s, not a JSON %s", te.Field, jsonKind(te.Type), te.Value)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return chat.Errorf(chat.EInvalid, "body is not valid JSON (at byte %d)", se.Offset)
	}
	return chat.Errorf(chat.EInvalid, "body must be a JSON object (or form fields) with the documented fields")
}

// jsonKind names, as a JSON value, what a Go type decodes from.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return "of another type"
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
