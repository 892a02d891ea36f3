package store

import (
	"testing"

	"github.com/chatd/chatd/chat"
)

// FuzzCursor: a page cursor a client sends back (tickets, deliveries, the
// visitor's history) is read or refused as invalid_request, never passed
// on half-read; one the server made reads back as what it was made of.
func FuzzCursor(f *testing.F) {
	f.Add("1733500000000_5f0c6a9e-1111-4c3e-9a51-0d2f8e7b1c11")
	f.Add("1733500000000_ticket_5f0c6a9e")
	f.Add("-1_'; DROP TABLE tickets; --")
	f.Add("99999999999999999999_x")
	f.Fuzz(func(t *testing.T, c string) {
		ms, id, err := parseCursor(c)
		if err != nil {
			if chat.ErrorCode(err) != chat.EInvalid {
				t.Fatalf("cursor %q: %v", c, err)
			}
		} else if id == "" || len(id) > 64 {
			t.Fatalf("cursor %q read as %d, %q", c, ms, id)
		} else if ms2, id2, err := parseCursor(cursor(ms, id)); err != nil || ms2 != ms || id2 != id {
			t.Fatalf("cursor %q does not read back: %d, %q, %v", c, ms2, id2, err)
		}
		hms, kind, hid, err := parseHistoryCursor(c)
		if err != nil {
			if chat.ErrorCode(err) != chat.EInvalid {
				t.Fatalf("history cursor %q: %v", c, err)
			}
			return
		}
		if (kind != "chat" && kind != "ticket") || hid == "" {
			t.Fatalf("history cursor %q read as %d, %q, %q", c, hms, kind, hid)
		}
		if a, b, d, err := parseHistoryCursor(cursor(hms, kind+"_"+hid)); err != nil || a != hms || b != kind || d != hid {
			t.Fatalf("history cursor %q does not read back", c)
		}
	})
}
