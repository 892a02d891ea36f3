package transcript

import (
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/chat/access"
	"github.com/chatd/chatd/chat/rest"
)

// The decoders of this package's REST bodies and queries, each a pure
// function from what the client sent to a checked value or a coded client
// error, so they can be fuzzed (decode_test.go) apart from the handlers.
// What they return is masked and fit to store.

// checkText validates and masks a text that enters (chat.CheckText), with
// the field named in its error.
func checkText(field, text string, max int) (string, error) {
	out, err := chat.CheckText(text, max)
	if err != nil {
		if chat.ErrorCode(err) == chat.ETooLarge {
			return "", chat.Errorf(chat.ETooLarge, "%s is %d bytes, limit %d", field, len(text), max)
		}
		return "", chat.Errorf(chat.ErrorCode(err), "%s: %s", field, chat.ErrorMessage(err))
	}
	return out, nil
}

type createBody struct {
	Unit      string `json:"unit"`
	Subject   string `json:"subject"`
	Text      string `json:"text"`
	Email     string `json:"email"`
	VisitorID string `json:"visitor_id"`
}

// checkCreate checks a new request: its text, its subject (the text's
// first line when omitted), the requester's email; the unit is trimmed
// ("" or "auto": classify) and checked by the caller, who knows the units.
func checkCreate(b createBody, maxText int) (createBody, error) {
	text, err := checkText("text", b.Text, maxText)
	if err != nil {
		return b, err
	}
	subject := trimmed(b.Subject)
	if subject == "" {
		subject = firstLine(text, 80)
	}
	if subject, err = checkText("subject", subject, 200); err != nil {
		return b, err
	}
	_, email, err := chat.CheckVisitor("", b.Email)
	if err != nil {
		return b, chat.Errorf(chat.EInvalid, "email is not an email address")
	}
	visitorID := trimmed(b.VisitorID)
	if len(visitorID) > 64 || !utf8.ValidString(visitorID) {
		return b, chat.Errorf(chat.EInvalid, "visitor_id is not a visitor id")
	}
	return createBody{Unit: trimmed(b.Unit), Subject: subject, Text: text, Email: email, VisitorID: visitorID}, nil
}

type changeBody struct {
	Status string `json:"status"`
	Unit   string `json:"unit"`
}

// checkChange checks a ticket's move: a known status, a configured unit.
func checkChange(b changeBody, units []string) error {
	if b.Status != "" && !chat.ValidTicketStatus(b.Status) {
		return chat.Errorf(chat.EInvalid, "status must be open, pending, solved or closed")
	}
	if b.Unit != "" && !slices.Contains(units, b.Unit) {
		return chat.Errorf(chat.EUnknownUnit, "unknown unit %q", b.Unit)
	}
	return nil
}

type replyBody struct {
	Text     string `json:"text"`
	Internal bool   `json:"internal"`
}

// checkReply checks a reply's (or a note's) text.
func checkReply(b replyBody, maxText int) (string, error) {
	return checkText("text", b.Text, maxText)
}

type mergeBody struct {
	Into string `json:"into"`
}

// checkMerge checks the ticket a merge goes into.
func checkMerge(b mergeBody) (string, error) {
	into := trimmed(b.Into)
	if into == "" || len(into) > 64 || !utf8.ValidString(into) {
		return "", chat.Errorf(chat.EInvalid, "into names the ticket to merge into")
	}
	return into, nil
}

type escalateBody struct {
	Subject string `json:"subject"`
}

// checkEscalate checks an escalation's subject (optional: the first
// message's line), masked.
func checkEscalate(b escalateBody) (string, error) {
	s := trimmed(b.Subject)
	if len(s) > 200 || !utf8.ValidString(s) {
		return "", chat.Errorf(chat.EInvalid, "subject is longer than 200 bytes or not UTF-8")
	}
	return chat.Mask(s), nil
}

type hookBody struct {
	URL    string   `json:"url"`
	Events []string `json:"events"`
}

// checkHook checks a subscription: an http(s) URL without credentials and
// at least one known event (repeats dropped).
func checkHook(b hookBody) (string, []string, error) {
	u, err := checkHookURL(b.URL)
	if err != nil {
		return "", nil, err
	}
	if len(b.Events) == 0 {
		return "", nil, chat.Errorf(chat.EInvalid, "events must name at least one of %s", strings.Join(Events, ", "))
	}
	var events []string
	for _, e := range b.Events {
		if !slices.Contains(Events, e) {
			return "", nil, chat.Errorf(chat.EInvalid, "unknown event %q (events: %s)", e, strings.Join(Events, ", "))
		}
		if !slices.Contains(events, e) {
			events = append(events, e)
		}
	}
	return u, events, nil
}

// checkFormat checks a transcript's ?format=.
func checkFormat(format string) error {
	if format != "" && format != FormatJSON && format != FormatText && format != FormatHTML {
		return chat.Errorf(chat.EInvalid, "format must be json, txt or html")
	}
	return nil
}

// ticketQuery reads GET /api/v1/tickets' query for principal p: the
// written queue of p's units, open tickets unless status says otherwise
// (all: every status), filtered by unit, email, visitor_id and the created
// range, oldest first unless order=newest.
func ticketQuery(q url.Values, p chat.Principal, units []string) (chat.TicketFilter, error) {
	limit, err := rest.LimitOf(q.Get("limit"), 50, 200)
	if err != nil {
		return chat.TicketFilter{}, err
	}
	f := chat.TicketFilter{Units: access.Units(p), Status: chat.TicketOpen, Limit: limit, Cursor: q.Get("cursor"),
		Email: chat.NormalEmail(q.Get("email")), VisitorID: trimmed(q.Get("visitor_id"))}
	switch s := q.Get("status"); {
	case s == "all":
		f.Status = ""
	case s != "":
		if !chat.ValidTicketStatus(s) {
			return f, chat.Errorf(chat.EInvalid, "status must be open, pending, solved, closed or all")
		}
		f.Status = s
	}
	switch o := q.Get("order"); o {
	case "", "oldest":
	case "newest":
		f.Newest = true
	default:
		return f, chat.Errorf(chat.EInvalid, "order must be oldest or newest")
	}
	if u := q.Get("unit"); u != "" {
		if !slices.Contains(units, u) {
			return f, chat.Errorf(chat.EUnknownUnit, "unknown unit %q", u)
		}
		if !access.SeesUnit(p, u) {
			f.Units = []string{}
		} else {
			f.Units = []string{u}
		}
	}
	for _, param := range []string{"created_after", "created_before"} {
		v := q.Get(param)
		if v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return f, chat.Errorf(chat.EInvalid, "%s must be an RFC 3339 time", param)
		}
		if param == "created_after" {
			f.From = t
		} else {
			f.To = t
		}
	}
	return f, nil
}
