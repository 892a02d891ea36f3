package transcript

import (
	"bytes"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/chat/rest"
)

// Fuzz tests of every REST body and query this package reads (seeds in
// testdata/fuzz): whatever a client sends, the decoder gives a value that
// passed the checks, masked and fit to store, or a coded client error;
// never a panic or an internal error.

func bind(t *testing.T, body []byte, v any) error {
	t.Helper()
	req := httptest.NewRequest("POST", "/", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	return rest.Bind(echo.New().NewContext(req, httptest.NewRecorder()), v)
}

func clientError(t *testing.T, err error, codes ...string) {
	t.Helper()
	got := chat.ErrorCode(err)
	if !slices.Contains(append(codes, chat.EInvalid, chat.EPayloadTooBig), got) {
		t.Fatalf("error %v (code %q), want a client error", err, got)
	}
}

// storable fails unless s may be stored as is: valid UTF-8, no NUL,
// masked, at most max bytes.
func storable(t *testing.T, field, s string, max int) {
	t.Helper()
	if !utf8.ValidString(s) || strings.ContainsRune(s, 0) || chat.Mask(s) != s || len(s) > max {
		t.Fatalf("accepted %s %q (%d bytes): not valid, not masked or too long", field, s, len(s))
	}
}

func FuzzCreateTicketBody(f *testing.F) {
	f.Add([]byte(`{"unit":"financial","subject":"Refund","text":"Order 1234 TR330006100519786457841326","email":"a@example.com"}`))
	f.Add([]byte(`{"text":"\n\n  first line\nsecond","visitor_id":"v"}`))
	f.Add([]byte(`{"text":123,"subject":null}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var b createBody
		if err := bind(t, body, &b); err != nil {
			clientError(t, err)
			return
		}
		got, err := checkCreate(b, 4096)
		if err != nil {
			clientError(t, err, chat.ETooLarge)
			return
		}
		storable(t, "text", got.Text, 4096)
		storable(t, "subject", got.Subject, 200)
		storable(t, "email", got.Email, 254)
		if strings.TrimSpace(got.Subject) == "" || strings.TrimSpace(got.Text) == "" || len(got.VisitorID) > 64 {
			t.Fatalf("accepted %+v", got)
		}
	})
}

func FuzzChangeTicketBody(f *testing.F) {
	f.Add([]byte(`{"status":"solved"}`))
	f.Add([]byte(`{"unit":"account","status":""}`))
	f.Add([]byte(`{"status":["open"]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var b changeBody
		if err := bind(t, body, &b); err != nil {
			clientError(t, err)
			return
		}
		if err := checkChange(b, chat.DefaultUnits); err != nil {
			clientError(t, err, chat.EUnknownUnit)
			return
		}
		if (b.Status != "" && !slices.Contains(chat.TicketStatuses, b.Status)) || (b.Unit != "" && !slices.Contains(chat.DefaultUnits, b.Unit)) {
			t.Fatalf("accepted %+v", b)
		}
	})
}

func FuzzReplyBody(f *testing.F) {
	f.Add([]byte(`{"text":"We sent it again 10000000146","internal":true}`))
	f.Add([]byte(`{"text":"   "}`))
	f.Add([]byte(`{"text":"a","internal":"yes"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var b replyBody
		if err := bind(t, body, &b); err != nil {
			clientError(t, err)
			return
		}
		text, err := checkReply(b, 4096)
		if err != nil {
			clientError(t, err, chat.ETooLarge)
			return
		}
		storable(t, "text", text, 4096)
	})
}

func FuzzMergeBody(f *testing.F) {
	f.Add([]byte(`{"into":"5f0c6a9e-1111-4c3e-9a51-0d2f8e7b1c11"}`))
	f.Add([]byte(`{"into":""}`))
	f.Add([]byte(`{"into":{"id":1}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var b mergeBody
		if err := bind(t, body, &b); err != nil {
			clientError(t, err)
			return
		}
		into, err := checkMerge(b)
		if err != nil {
			clientError(t, err)
			return
		}
		if into == "" || len(into) > 64 || !utf8.ValidString(into) || strings.ContainsRune(into, 0) {
			t.Fatalf("accepted into %q", into)
		}
	})
}

func FuzzEscalateBody(f *testing.F) {
	f.Add([]byte(`{"subject":"Locked account DE89 3704 0044 0532 0130 00"}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"subject":"\u0000"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var b escalateBody
		if err := bind(t, body, &b); err != nil {
			clientError(t, err)
			return
		}
		s, err := checkEscalate(b)
		if err != nil {
			clientError(t, err)
			return
		}
		storable(t, "subject", s, 200)
	})
}

func FuzzCannedBody(f *testing.F) {
	f.Add([]byte(`{"unit":"account","lang":"en","title":"KYC","text":"Please upload your ID."}`))
	f.Add([]byte(`{"unit":"","lang":"tr","title":"Genel","text":"Merhaba"}`))
	f.Add([]byte(`{"lang":"de","title":1}`))
	api := NewAPI(Config{}, nil, nil, nil, nil, nil, nil)
	f.Fuzz(func(t *testing.T, body []byte) {
		var b cannedBody
		if err := bind(t, body, &b); err != nil {
			clientError(t, err)
			return
		}
		r := &chat.CannedReply{}
		if err := api.applyCanned(b, r); err != nil {
			clientError(t, err, chat.EUnknownUnit, chat.ETooLarge)
			return
		}
		storable(t, "title", r.Title, 100)
		storable(t, "text", r.Text, 4096)
		if (r.Unit != "" && !slices.Contains(chat.DefaultUnits, r.Unit)) || (r.Lang != "tr" && r.Lang != "en") {
			t.Fatalf("accepted %+v", r)
		}
	})
}

func FuzzWebhookBody(f *testing.F) {
	f.Add([]byte(`{"url":"https://crm.example.com/chatd","events":["ticket.created","ticket.created"]}`))
	f.Add([]byte(`{"url":"https://user:pw@example.com","events":["chat.closed"]}`))
	f.Add([]byte(`{"url":"ftp://example.com","events":[]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var b hookBody
		if err := bind(t, body, &b); err != nil {
			clientError(t, err)
			return
		}
		u, events, err := checkHook(b)
		if err != nil {
			clientError(t, err)
			return
		}
		p, perr := url.Parse(u)
		if perr != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" || p.User != nil || p.Fragment != "" || strings.ContainsRune(u, 0) {
			t.Fatalf("accepted url %q (%v)", u, perr)
		}
		if len(events) == 0 || len(slices.Compact(slices.Sorted(slices.Values(events)))) != len(events) {
			t.Fatalf("accepted events %q", events)
		}
		for _, e := range events {
			if !slices.Contains(Events, e) {
				t.Fatalf("accepted event %q", e)
			}
		}
	})
}

func FuzzTicketQuery(f *testing.F) {
	f.Add("status=all&unit=general&limit=10&order=newest&created_after=2025-01-01T00:00:00Z")
	f.Add("status=open'--&limit=-1&cursor=1_x")
	f.Add("unit=account&created_before=yesterday")
	agent := chat.Principal{Agent: &chat.Agent{ID: "a", Role: chat.RoleAgent, Units: []string{"general"}}}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return // the server refuses it before any route
		}
		got, err := ticketQuery(q, agent, chat.DefaultUnits)
		if err != nil {
			clientError(t, err, chat.EUnknownUnit)
			return
		}
		if got.Limit < 1 || got.Limit > 200 || (got.Status != "" && !slices.Contains(chat.TicketStatuses, got.Status)) {
			t.Fatalf("accepted %+v", got)
		}
		for _, u := range got.Units { // an agent of general sees general only
			if u != "general" {
				t.Fatalf("the filter reaches unit %q: %+v", u, got)
			}
		}
		if got.Units == nil {
			t.Fatalf("an agent's filter reaches every unit: %+v", got)
		}
	})
}

func FuzzTranscriptFormat(f *testing.F) {
	f.Add("html", "tr", "en-US,en;q=0.9")
	f.Add("pdf", "", "")
	f.Add("", "de", "tr-TR;q=0.8,\x00")
	f.Fuzz(func(t *testing.T, format, lang, accept string) {
		if err := checkFormat(format); err != nil {
			clientError(t, err)
		} else if !slices.Contains([]string{"", FormatJSON, FormatText, FormatHTML}, format) {
			t.Fatalf("accepted format %q", format)
		}
		if l := Language(lang, accept); l != "tr" && l != "en" {
			t.Fatalf("language %q", l)
		}
	})
}
