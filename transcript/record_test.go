package transcript

import (
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
)

func TestLanguage(t *testing.T) {
	for _, tt := range []struct{ query, accept, want string }{
		{"tr", "", "tr"}, {"", "tr-TR,tr;q=0.9,en;q=0.8", "tr"}, {"", "de-DE,en;q=0.5", "en"},
		{"en", "tr-TR", "en"}, {"", "", "en"}, {"xx", "fr", "en"},
		// q-values decide, not the order.
		{"", "en;q=0.1, tr", "tr"}, {"", "en-US;q=0.4,tr-TR;q=0.8", "tr"}, {"", "tr;q=0.3, en;q=0.7", "en"},
		{"", "tr;q=0.5, en;q=0.5", "tr"}, {"", "en;q=0.5, tr;q=0.5", "en"}, {"", "tr;q=0, en;q=0.1", "en"},
		{"", "tr;q=0", "en"}, {"", "fr, tr;q=0.2", "tr"}, {"", "TR ; Q=0.9 , en;q=0.8", "tr"}, {"", "en;q=abc, tr;q=0.1", "tr"},
		{"", "trk, tr;q=0.1", "tr"}, {"tr-TR", "en", "tr"}, {"", "*;q=1, tr;q=0.2", "tr"},
	} {
		if got := Language(tt.query, tt.accept); got != tt.want {
			t.Errorf("Language(%q, %q) = %q, want %q", tt.query, tt.accept, got, tt.want)
		}
	}
}

// TestRenderEscapesAndLeavesNotesToStaff: every text is escaped in the
// printable page, and the visitor's copy has no notes in any format.
func TestRenderEscapesAndLeavesNotesToStaff(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	r := &Record{ChatID: "c1", Status: chat.StatusClosed, Unit: "general", StartedAt: at, ClosedAt: &at, CloseReason: "agent_closed",
		Visitor:  RecordVisitor{ID: "v1", Name: `<img src=x onerror=alert(1)>`},
		Messages: []chat.Message{{Seq: 1, From: chat.Sender{Kind: chat.FromVisitor}, Text: `"></p><script>alert(2)</script>`, At: at}},
		Agents:   []chat.Sender{{Kind: chat.FromAgent, ID: "a", Name: "Ece & Can"}}, Transfers: []Transfer{}}
	for _, format := range []string{FormatHTML, FormatText, FormatJSON} {
		body, _, err := Render(r, format, "tr")
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(body), "secret") {
			t.Errorf("%s: the visitor's copy holds a note", format)
		}
		if format == FormatHTML {
			for _, bad := range []string{"<script>", "<img"} {
				if strings.Contains(string(body), bad) {
					t.Errorf("html holds %s unescaped:\n%s", bad, body)
				}
			}
			if !strings.Contains(string(body), "Ece &amp; Can") || !strings.Contains(string(body), `lang="tr"`) {
				t.Errorf("html:\n%s", body)
			}
		}
	}
	notes := []chat.Message{{Seq: 1, Kind: chat.KindNote, From: chat.Sender{Kind: chat.FromAgent, Name: "Ece"}, Text: "secret", At: at}}
	r.Notes = &notes
	for _, format := range []string{FormatHTML, FormatText, FormatJSON} {
		if body, _, _ := Render(r, format, "en"); !strings.Contains(string(body), "secret") {
			t.Errorf("%s: the staff copy lacks the note", format)
		}
	}
	if _, _, err := Render(r, "pdf", "en"); chat.ErrorCode(err) != chat.EInvalid {
		t.Errorf("pdf: %v", err)
	}
}
