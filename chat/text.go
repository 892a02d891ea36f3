package chat

import (
	"reflect"
	"strings"
	"unicode/utf8"
)

// Cut shortens s to at most max bytes without splitting a character,
// marking the cut with an ellipsis.
func Cut(s string, max int) string {
	if len(s) <= max {
		return s
	}
	for max > 0 && !utf8.RuneStart(s[max]) {
		max--
	}
	return s[:max] + "…"
}

// CheckText validates a message text against the size limit and returns it
// masked (Mask): what is returned is what may be stored.
func CheckText(text string, maxBytes int) (string, error) {
	if len(text) > maxBytes {
		return "", Errorf(ETooLarge, "message is %d bytes, limit %d", len(text), maxBytes)
	}
	if strings.TrimSpace(text) == "" {
		return "", Errorf(EInvalid, "text is empty")
	}
	if !utf8.ValidString(text) {
		return "", Errorf(EInvalid, "text is not UTF-8")
	}
	return Mask(text), nil
}

// CheckVisitor validates the name and email a visitor gives about
// themselves (both optional) and returns them trimmed and masked (a card
// number or an id typed into the name field is hidden like one in a
// message), the email in its normal form (NormalEmail).
func CheckVisitor(name, email string) (string, string, error) {
	switch { // before NormalEmail: strings.ToLower would turn bad bytes into U+FFFD
	case !utf8.ValidString(name):
		return "", "", Errorf(EInvalid, "name is not UTF-8 text")
	case !utf8.ValidString(email):
		return "", "", Errorf(EInvalid, "email is not UTF-8 text")
	}
	name, email = strings.TrimSpace(name), NormalEmail(email)
	switch {
	case len(name) > 100:
		return "", "", Errorf(EInvalid, "name is %d bytes, at most 100", len(name))
	case len(email) > 254:
		return "", "", Errorf(EInvalid, "email is %d bytes, at most 254", len(email))
	case email != "" && !strings.Contains(email, "@"):
		return "", "", Errorf(EInvalid, "email is not an email address (no @)")
	}
	return Mask(name), Mask(email), nil
}

// NormalEmail is the one form an email address is stored and compared in:
// trimmed and lower case, so Can@Example.com and can@example.com are one
// requester.
func NormalEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// ErrNUL refuses text with a NUL character: PostgreSQL cannot store one,
// so it is turned away before anything is stored, on every database alike.
var ErrNUL = Errorf(EInvalid, "text must not contain NUL (U+0000) characters")

// HasNUL reports whether any string reachable from v (through pointers,
// structs, slices and maps) holds a NUL character.
func HasNUL(v any) bool { return nulIn(reflect.ValueOf(v)) }

func nulIn(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.String:
		return strings.IndexByte(v.String(), 0) >= 0
	case reflect.Pointer, reflect.Interface:
		return !v.IsNil() && nulIn(v.Elem())
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() && nulIn(v.Field(i)) {
				return true
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			if nulIn(v.Index(i)) {
				return true
			}
		}
	case reflect.Map:
		for it := v.MapRange(); it.Next(); {
			if nulIn(it.Key()) || nulIn(it.Value()) {
				return true
			}
		}
	}
	return false
}
