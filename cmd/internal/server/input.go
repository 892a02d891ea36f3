package server

import (
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/chatd/chatd/chat"
)

// cleanInput refuses, for every route, path parameters and query values
// (and names) that hold a NUL or are not UTF-8: PostgreSQL refuses such
// text, and it would come back as an internal error from deep in a query.
// Turned away here, it is a client's invalid_request on both databases,
// whatever the route. Bodies are checked where they are decoded
// (rest.Bind, the frame decoder).
func cleanInput(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		// The router matches the escaped path when there is one, so a
		// parameter may still hold %ff: the decoded path is checked too.
		if !cleanText(c.Request().URL.Path) {
			return chat.Errorf(chat.EInvalid, "the path must be UTF-8 text without NUL characters")
		}
		for _, v := range c.ParamValues() {
			if !cleanText(v) {
				return chat.Errorf(chat.EInvalid, "the path must be UTF-8 text without NUL characters")
			}
		}
		for k, vs := range c.QueryParams() {
			if !cleanText(k) {
				return chat.Errorf(chat.EInvalid, "query parameter names must be UTF-8 text without NUL characters")
			}
			for _, v := range vs {
				if !cleanText(v) {
					return chat.Errorf(chat.EInvalid, "query parameter %q must be UTF-8 text without NUL characters", k)
				}
			}
		}
		return next(c)
	}
}

func cleanText(s string) bool { return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 }
