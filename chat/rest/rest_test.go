package rest

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/chatd/chatd/chat"
)

func TestLimit(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int
		code string
	}{
		{"", 100, ""}, {"1", 1, ""}, {"1000", 1000, ""}, {"0", 0, chat.EInvalid}, {"1001", 0, chat.EInvalid},
		{"-5", 0, chat.EInvalid}, {"ten", 0, chat.EInvalid}, {"1e3", 0, chat.EInvalid}, {"99999999999999999999", 0, chat.EInvalid},
	} {
		c := echo.New().NewContext(httptest.NewRequest("GET", "/?limit="+tt.in, nil), httptest.NewRecorder())
		n, err := Limit(c, 100, 1000)
		code := ""
		if err != nil {
			code = chat.ErrorCode(err)
		}
		if n != tt.want || code != tt.code {
			t.Errorf("limit=%q: %d %q, want %d %q", tt.in, n, code, tt.want, tt.code)
		}
	}
}

// FuzzLimit (seeds in testdata/fuzz/FuzzLimit): any ?limit= is a page size
// in range or invalid_request.
func FuzzLimit(f *testing.F) {
	f.Add("50")
	f.Add("-1")
	f.Add("0x10")
	f.Fuzz(func(t *testing.T, s string) {
		req := httptest.NewRequest("GET", "/", nil)
		q := req.URL.Query()
		q.Set("limit", s)
		req.URL.RawQuery = q.Encode()
		n, err := Limit(echo.New().NewContext(req, httptest.NewRecorder()), 100, 1000)
		if err != nil {
			if chat.ErrorCode(err) != chat.EInvalid {
				t.Fatalf("code %q", chat.ErrorCode(err))
			}
			return
		}
		if n < 1 || n > 1000 {
			t.Fatalf("limit %q gave %d", s, n)
		}
	})
}

// TestBind: a body is refused, as the client's invalid_request, when it is
// not UTF-8 (JSON or form: never stored with U+FFFD in place of the bytes
// sent) or when a field has the wrong type, and the message names the field.
func TestBind(t *testing.T) {
	type body struct {
		Name  string   `json:"name" form:"name"`
		Units []string `json:"units" form:"units"`
		Max   int      `json:"max_chats" form:"max_chats"`
	}
	for _, tt := range []struct {
		ctype, in string
		code, msg string
	}{
		{"application/json", `{"name":"Ada \u00fc"}`, "", ""},
		{"application/json", "{\"name\":\"bad \xff utf8\"}", chat.EInvalid, "UTF-8"},
		{"application/json", "{\"name\":\"\xc3\x28\"}", chat.EInvalid, "UTF-8"},
		{"application/x-www-form-urlencoded", "{\"name\":\"bad \xff\"}", chat.EInvalid, "UTF-8"},
		{"application/x-www-form-urlencoded", "name=bad%20%ff", chat.EInvalid, "UTF-8"},
		{"application/x-www-form-urlencoded", "name=ok%20%c3%bc", "", ""},
		{"application/json", `{"name":5}`, chat.EInvalid, `field "name" must be a string`},
		{"application/json", `{"units":"general"}`, chat.EInvalid, `field "units" must be an array`},
		{"application/json", `{"max_chats":"3"}`, chat.EInvalid, `field "max_chats" must be a whole number`},
		{"application/json", `{"max_chats":2.5}`, chat.EInvalid, `field "max_chats" must be a whole number`},
		{"application/json", `{"name":`, chat.EInvalid, "not valid JSON"},
	} {
		req := httptest.NewRequest("POST", "/", strings.NewReader(tt.in))
		req.Header.Set("Content-Type", tt.ctype)
		var b body
		err := Bind(echo.New().NewContext(req, httptest.NewRecorder()), &b)
		if tt.code == "" {
			if err != nil {
				t.Errorf("%q: %v", tt.in, err)
			}
			continue
		}
		if chat.ErrorCode(err) != tt.code || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%q: %v, want %s naming %q", tt.in, err, tt.code, tt.msg)
		}
	}
}
