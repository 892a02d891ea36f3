package live

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/chatd/chatd/chat"
)

func TestDecodeFrame(t *testing.T) {
	for _, tt := range []struct {
		name, in, code, ref string
	}{
		{"a message", `{"type":"message","client_id":"c","chat_id":"x","text":"hi"}`, "", "c"},
		{"not JSON", `hello?`, chat.EBadFrame, ""},
		{"an array", `[1,2]`, chat.EBadFrame, ""},
		{"cut short", `{"type":"message"`, chat.EBadFrame, ""},
		{"a string for a bool", `{"type":"chat.start","client_id":"c","age_confirmed":"true"}`, chat.EInvalid, "c"},
		{"a number for a string", `{"type":"message","client_id":"c","chat_id":42}`, chat.EInvalid, "c"},
		{"a fraction for a seq", `{"type":"read","chat_id":"x","seq":1.5}`, chat.EInvalid, ""},
		{"NUL in the text", `{"type":"message","client_id":"c","text":"a\u0000b"}`, chat.EInvalid, "c"},
		{"NUL in a field name's value", `{"type":"chat.start","client_id":"c","name":"\u0000"}`, chat.EInvalid, "c"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f, err := decodeFrame([]byte(tt.in))
			code := ""
			if err != nil {
				code = err.Code
			}
			if code != tt.code || f.ClientID != tt.ref {
				t.Fatalf("decodeFrame = %+v, %v; want code %q, client_id %q", f, err, tt.code, tt.ref)
			}
		})
	}
}

// FuzzDecodeFrame: whatever arrives, decoding never panics, refuses with
// one of the two frame codes, and lets through only valid JSON without NUL.
func FuzzDecodeFrame(f *testing.F) {
	for _, s := range []string{
		`{"type":"message","client_id":"c","chat_id":"x","text":"hi"}`,
		`{"type":"resume","chat_id":"x","after_seq":3,"after_note":1}`,
		`{"type":"chat.start","age_confirmed":"yes"}`,
		`{"text":"\u0000"}`, `[]`, `{`, `null`, `{"seq":1e400}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fr, err := decodeFrame([]byte(s))
		if err != nil {
			if err.Code != chat.EBadFrame && err.Code != chat.EInvalid {
				t.Fatalf("code %q for %q", err.Code, s)
			}
			return
		}
		if !json.Valid([]byte(s)) {
			t.Fatalf("accepted invalid JSON %q", s)
		}
		if chat.HasNUL(&fr) || strings.ContainsRune(fr.Text, 0) {
			t.Fatalf("accepted NUL in %q", s)
		}
	})
}
