package chat

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestErrorfCutsLongMessages(t *testing.T) {
	for _, tt := range []struct {
		name, value string
		whole       bool
	}{
		{"short", "sales", true},
		{"long", strings.Repeat("x", 5000), false},
		{"long multibyte", strings.Repeat("ş", 3000), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := Errorf(EUnknownUnit, "unknown unit %q", tt.value)
			if e.Code != EUnknownUnit || !utf8.ValidString(e.Message) {
				t.Fatalf("%+v", e)
			}
			if whole := strings.Contains(e.Message, tt.value); whole != tt.whole {
				t.Fatalf("message %q holds the whole value: %v, want %v", e.Message, whole, tt.whole)
			}
			if len(e.Message) > maxMessage+len("…") {
				t.Fatalf("message of %d bytes", len(e.Message))
			}
		})
	}
}
