package rest

import (
	"net/http/httptest"
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
