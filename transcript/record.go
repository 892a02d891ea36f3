package transcript

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"strconv"
	"strings"
	"time"

	"github.com/chatd/chatd/chat"
)

// RecordStore reads what a chat left behind.
type RecordStore interface {
	Chat(ctx context.Context, id string) (*chat.Chat, error)
	Messages(ctx context.Context, chatID, kind string, after int64, limit int) ([]chat.Message, error)
	Assignments(ctx context.Context, chatID string) ([]chat.AssignmentRecord, error)
	ChatRecord(ctx context.Context, c *chat.Chat) (*chat.ChatRecord, error)
}

// Record is the record a desk keeps of one chat: who and where, every
// message in order (internal notes for staff only), the timings, how it
// ended and what the customer thought of it, and why it went to whom.
type Record struct {
	ChatID      string                   `json:"chat_id"`
	Status      string                   `json:"status"`
	Unit        string                   `json:"unit"`
	Visitor     RecordVisitor            `json:"visitor"`
	Transfers   []Transfer               `json:"transfers"`
	Agents      []chat.Sender            `json:"agents"`
	Messages    []chat.Message           `json:"messages"`
	Notes       *[]chat.Message          `json:"notes,omitempty"` // staff only
	Timings     Timings                  `json:"timings"`
	StartedAt   time.Time                `json:"started_at"`
	ClosedAt    *time.Time               `json:"closed_at,omitempty"`
	ClosedBy    *chat.Sender             `json:"closed_by,omitempty"` // kind visitor, agent, supervisor, admin, apikey or system
	CloseReason string                   `json:"close_reason,omitempty"`
	TicketID    string                   `json:"ticket_id,omitempty"`
	CSAT        *CSAT                    `json:"csat,omitempty"`
	Assignments *[]chat.AssignmentRecord `json:"assignments,omitempty"` // staff only
}

// RecordVisitor is the customer as the record names them.
type RecordVisitor struct {
	ID    string `json:"id"`
	Name  string `json:"name,omitempty"`
	Email string `json:"email,omitempty"`
}

// Transfer is one move of the chat between units or agents.
type Transfer struct {
	At        time.Time `json:"at"`
	Unit      string    `json:"unit"`
	FromAgent string    `json:"from_agent,omitempty"`
	ToAgent   string    `json:"to_agent,omitempty"`
	Reason    string    `json:"reason"`
}

// Timings are a chat's durations in seconds (nil: it never got there).
type Timings struct {
	QueueSeconds         *float64 `json:"queue_seconds"`          // waited for an agent
	FirstResponseSeconds *float64 `json:"first_response_seconds"` // from the start to the first agent message
	HandlingSeconds      *float64 `json:"handling_seconds"`       // from the first assignment to the end
}

// CSAT is the customer's rating of the chat.
type CSAT struct {
	Rating  int    `json:"rating"`
	Comment string `json:"comment,omitempty"`
}

// BuildRecord assembles the record of chat c; staff get the notes and the
// assignment records as well.
func BuildRecord(ctx context.Context, s RecordStore, c *chat.Chat, staff bool) (*Record, error) {
	msgs, err := s.Messages(ctx, c.ID, chat.KindMessage, 0, 0)
	if err != nil {
		return nil, err
	}
	extra, err := s.ChatRecord(ctx, c)
	if err != nil {
		return nil, err
	}
	recs, err := s.Assignments(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	r := &Record{ChatID: c.ID, Status: c.Status, Unit: c.Unit, Messages: msgs, StartedAt: c.CreatedAt, ClosedAt: c.ClosedAt,
		CloseReason: c.CloseReason, TicketID: c.TicketID, Transfers: []Transfer{}, Agents: []chat.Sender{},
		Visitor: RecordVisitor{ID: extra.Visitor.ID, Name: extra.Visitor.Name, Email: extra.Visitor.Email}}
	if staff {
		notes, err := s.Messages(ctx, c.ID, chat.KindNote, 0, 0)
		if err != nil {
			return nil, err
		}
		if recs == nil {
			recs = []chat.AssignmentRecord{}
		}
		r.Notes, r.Assignments = &notes, &recs
	}
	name := func(id string) string { return extra.AgentNames[id] }
	seen := map[string]bool{}
	addAgent := func(id string) {
		if id != "" && !seen[id] {
			seen[id] = true
			r.Agents = append(r.Agents, chat.Sender{Kind: chat.FromAgent, ID: id, Name: name(id)})
		}
	}
	var firstAssigned *time.Time
	for _, a := range recs {
		addAgent(a.AgentID)
		if a.Kind == chat.RecordAssigned && firstAssigned == nil {
			at := a.At
			firstAssigned = &at
		}
		if a.Kind == chat.RecordTransferred || (a.Kind == chat.RecordRequeued && a.Rule != "") {
			r.Transfers = append(r.Transfers, Transfer{At: a.At, Unit: a.Unit, FromAgent: name(a.FromAgentID), ToAgent: name(a.AgentID), Reason: a.Rule})
		}
	}
	addAgent(c.AgentID)
	if firstAssigned == nil {
		firstAssigned = c.AssignedAt
	}
	secs := func(from, to time.Time) *float64 {
		v := to.Sub(from).Seconds()
		if v < 0 {
			v = 0
		}
		return &v
	}
	if firstAssigned != nil {
		r.Timings.QueueSeconds = secs(c.CreatedAt, *firstAssigned)
		if c.ClosedAt != nil {
			r.Timings.HandlingSeconds = secs(*firstAssigned, *c.ClosedAt)
		}
	}
	for _, m := range msgs {
		if m.From.Kind == chat.FromAgent {
			r.Timings.FirstResponseSeconds = secs(c.CreatedAt, m.At)
			addAgent(m.From.ID)
			break
		}
	}
	if c.ClosedBy != nil { // stored when the chat ended; chats ended before it was kept have none
		by := *c.ClosedBy
		if by.Kind == chat.KindVisitor && by.Name == "" {
			by.Name = extra.Visitor.Name
		}
		r.ClosedBy = &by
	}
	if c.Rating > 0 {
		r.CSAT = &CSAT{Rating: c.Rating, Comment: extra.RatingComment}
	}
	return r, nil
}

// NoteList is the record's internal notes (none for the visitor's copy).
func (r *Record) NoteList() []chat.Message {
	if r.Notes == nil {
		return nil
	}
	return *r.Notes
}

// AssignmentList is the record's assignment records (none for the visitor's copy).
func (r *Record) AssignmentList() []chat.AssignmentRecord {
	if r.Assignments == nil {
		return nil
	}
	return *r.Assignments
}

// Formats a record is written in.
const (
	FormatJSON = "json"
	FormatText = "txt"
	FormatHTML = "html"
)

// Render writes the record in format (json, txt or html) and language
// (tr or en), returning the body and its content type.
func Render(r *Record, format, lang string) ([]byte, string, error) {
	w := words[lang]
	if w == nil {
		w = words["en"]
	}
	switch format {
	case "", FormatJSON:
		b, err := json.MarshalIndent(r, "", "  ")
		return b, "application/json; charset=utf-8", err
	case FormatText:
		return renderText(r, w), "text/plain; charset=utf-8", nil
	case FormatHTML:
		var buf bytes.Buffer
		err := page.Execute(&buf, view{R: r, W: w, Lang: w["lang"]})
		return buf.Bytes(), "text/html; charset=utf-8", err
	}
	return nil, "", chat.Errorf(chat.EInvalid, "format %q: want json, txt or html", format)
}

// Language picks tr or en: ?lang= when it names one, else the one
// Accept-Language prefers by its q-values (en;q=0.1, tr -> tr; equal
// weights: the first listed; q=0: not acceptable), else en.
func Language(query, accept string) string {
	if l := langOf(query); l != "" {
		return l
	}
	best, bestQ := "en", 0.0
	for _, part := range strings.Split(accept, ",") {
		tag, params, _ := strings.Cut(part, ";")
		l := langOf(tag)
		if l == "" {
			continue
		}
		q := 1.0
		for _, p := range strings.Split(params, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				if err != nil || f < 0 || f > 1 {
					f = 0 // malformed: not a preference
				}
				q = f
			}
		}
		if q > bestQ {
			best, bestQ = l, q
		}
	}
	return best
}

// langOf is tr or en for a language tag of either (tr, tr-TR, en-GB), else "".
func langOf(tag string) string {
	tag = strings.ToLower(strings.TrimSpace(tag))
	for _, l := range []string{"tr", "en"} {
		if tag == l || strings.HasPrefix(tag, l+"-") {
			return l
		}
	}
	return ""
}

var words = map[string]map[string]string{
	"en": {"lang": "en", "title": "Chat transcript", "chat": "Chat", "unit": "Unit", "visitor": "Customer", "agents": "Agents",
		"started": "Started", "closed": "Ended", "closedBy": "Ended by", "reason": "Reason", "queue": "Waited in queue",
		"first": "First response", "handling": "Handling time", "csat": "Rating", "transfers": "Transfers", "messages": "Messages",
		"notes": "Internal notes (staff only)", "assignments": "Assignment record", "ticket": "Continued as ticket", "none": "—",
		"seconds": "s", "candidates": "candidates", "waited": "waited",
		"visitor_closed": "closed by the customer", "agent_closed": "closed by the agent", "escalated": "continued in writing",
		"visitor_left": "the customer left", "no_response": "no response",
		"by_visitor": "customer", "by_agent": "agent", "by_supervisor": "supervisor", "by_admin": "administrator",
		"by_apikey": "API key", "by_system": "system"},
	"tr": {"lang": "tr", "title": "Görüşme dökümü", "chat": "Görüşme", "unit": "Birim", "visitor": "Müşteri", "agents": "Temsilciler",
		"started": "Başlangıç", "closed": "Bitiş", "closedBy": "Sonlandıran", "reason": "Neden", "queue": "Kuyrukta bekleme",
		"first": "İlk yanıt", "handling": "Görüşme süresi", "csat": "Puan", "transfers": "Aktarımlar", "messages": "Mesajlar",
		"notes": "İç notlar (yalnızca personel)", "assignments": "Atama kaydı", "ticket": "Yazılı talep olarak devam etti", "none": "—",
		"seconds": "sn", "candidates": "adaylar", "waited": "bekleme",
		"visitor_closed": "müşteri kapattı", "agent_closed": "temsilci kapattı", "escalated": "yazılı olarak devam etti",
		"visitor_left": "müşteri ayrıldı", "no_response": "yanıt verilmedi",
		"by_visitor": "müşteri", "by_agent": "temsilci", "by_supervisor": "süpervizör", "by_admin": "yönetici",
		"by_apikey": "API anahtarı", "by_system": "sistem"},
}

func reasonText(w map[string]string, reason string) string {
	if s, ok := w[reason]; ok && reason != "" {
		return s
	}
	return reason
}

// closer names who ended the chat: their name and what they are.
func closer(w map[string]string, s *chat.Sender) string {
	if s == nil {
		return w["none"]
	}
	kind, ok := w["by_"+s.Kind]
	if !ok {
		kind = s.Kind
	}
	if s.Name == "" {
		return kind
	}
	return s.Name + " (" + kind + ")"
}

func duration(w map[string]string, s *float64) string {
	if s == nil {
		return w["none"]
	}
	return fmt.Sprintf("%.0f %s", *s, w["seconds"])
}

func who(m chat.Message, w map[string]string) string {
	switch {
	case m.From.Name != "":
		return m.From.Name
	case m.From.Kind == chat.FromVisitor:
		return w["visitor"]
	}
	return m.From.Kind
}

const stamp = "2006-01-02 15:04:05 MST"

func renderText(r *Record, w map[string]string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s\n", w["title"], r.ChatID)
	fmt.Fprintf(&b, "%s: %s\n", w["unit"], r.Unit)
	fmt.Fprintf(&b, "%s: %s\n", w["visitor"], strings.TrimSpace(r.Visitor.Name+" "+r.Visitor.Email+" ("+r.Visitor.ID+")"))
	names := make([]string, len(r.Agents))
	for i, a := range r.Agents {
		names[i] = a.Name
	}
	fmt.Fprintf(&b, "%s: %s\n", w["agents"], strings.Join(names, ", "))
	fmt.Fprintf(&b, "%s: %s\n", w["started"], r.StartedAt.Format(stamp))
	if r.ClosedAt != nil {
		fmt.Fprintf(&b, "%s: %s (%s)\n", w["closed"], r.ClosedAt.Format(stamp), reasonText(w, r.CloseReason))
	}
	if r.ClosedBy != nil {
		fmt.Fprintf(&b, "%s: %s\n", w["closedBy"], closer(w, r.ClosedBy))
	}
	fmt.Fprintf(&b, "%s: %s · %s: %s · %s: %s\n", w["queue"], duration(w, r.Timings.QueueSeconds),
		w["first"], duration(w, r.Timings.FirstResponseSeconds), w["handling"], duration(w, r.Timings.HandlingSeconds))
	if r.CSAT != nil {
		fmt.Fprintf(&b, "%s: %d/5 %s\n", w["csat"], r.CSAT.Rating, r.CSAT.Comment)
	}
	if r.TicketID != "" {
		fmt.Fprintf(&b, "%s: %s\n", w["ticket"], r.TicketID)
	}
	for _, t := range r.Transfers {
		fmt.Fprintf(&b, "%s: %s %s -> %s %s (%s)\n", w["transfers"], t.At.Format(stamp), t.FromAgent, t.Unit, t.ToAgent, t.Reason)
	}
	fmt.Fprintf(&b, "\n%s\n", w["messages"])
	for _, m := range r.Messages {
		fmt.Fprintf(&b, "[%s] %s: %s\n", m.At.Format(stamp), who(m, w), m.Text)
	}
	if notes := r.NoteList(); len(notes) > 0 {
		fmt.Fprintf(&b, "\n%s\n", w["notes"])
		for _, m := range notes {
			fmt.Fprintf(&b, "[%s] %s: %s\n", m.At.Format(stamp), who(m, w), m.Text)
		}
	}
	if recs := r.AssignmentList(); len(recs) > 0 {
		fmt.Fprintf(&b, "\n%s\n", w["assignments"])
		for _, a := range recs {
			fmt.Fprintf(&b, "[%s] %s %s %s (%s, %s %d ms, %s %d)\n", a.At.Format(stamp), a.Kind, a.Unit, a.AgentID, a.Rule, w["waited"], a.WaitedMS, w["candidates"], len(a.Candidates))
		}
	}
	return []byte(b.String())
}

type view struct {
	R    *Record
	W    map[string]string
	Lang string
}

// pageStyle is the printable transcript's only style, inline so the page
// stands alone when saved; HTMLPolicy allows exactly it, by its hash.
const pageStyle = `body{font:15px/1.5 system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#1b1b1f}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}dt{font-weight:600}
ol{list-style:none;padding:0}li{margin:.5rem 0;padding:.4rem .6rem;border-left:3px solid #cfd4dc}
li.visitor{border-color:#2352d8}li.note{background:#fff8d6;border-color:#c9a400}.meta{color:#555;font-size:.85em}
.text{white-space:pre-wrap;margin:.1rem 0}@media print{body{margin:0}}`

// HTMLPolicy is the Content-Security-Policy of the printable transcript:
// nothing loads, nothing runs, the one style block is allowed by its hash,
// and no page may frame it.
var HTMLPolicy = func() string {
	sum := sha256.Sum256([]byte(pageStyle))
	return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'; " +
		"img-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
}()

// page is the printable transcript. html/template escapes every text.
var page = template.Must(template.New("t").Funcs(template.FuncMap{
	"stamp": func(v any) string {
		switch t := v.(type) {
		case time.Time:
			return t.Format(stamp)
		case *time.Time:
			if t != nil {
				return t.Format(stamp)
			}
		}
		return ""
	},
	"dur":    duration,
	"closer": closer,
	"reason": reasonText,
	"who":    who,
}).Parse(`<!doctype html>
<html lang="{{.Lang}}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.W.title}} {{.R.ChatID}}</title>
<style>` + pageStyle + `</style></head>
<body><h1>{{.W.title}}</h1>
<dl><dt>{{.W.chat}}</dt><dd>{{.R.ChatID}}</dd><dt>{{.W.unit}}</dt><dd>{{.R.Unit}}</dd>
<dt>{{.W.visitor}}</dt><dd>{{.R.Visitor.Name}} {{.R.Visitor.Email}}</dd>
<dt>{{.W.agents}}</dt><dd>{{range $i, $a := .R.Agents}}{{if $i}}, {{end}}{{$a.Name}}{{end}}</dd>
<dt>{{.W.started}}</dt><dd>{{stamp .R.StartedAt}}</dd>
{{if .R.ClosedAt}}<dt>{{.W.closed}}</dt><dd>{{stamp .R.ClosedAt}} ({{reason .W .R.CloseReason}})</dd>{{end}}
{{if .R.ClosedBy}}<dt>{{.W.closedBy}}</dt><dd>{{closer .W .R.ClosedBy}}</dd>{{end}}
<dt>{{.W.queue}}</dt><dd>{{dur .W .R.Timings.QueueSeconds}}</dd><dt>{{.W.first}}</dt><dd>{{dur .W .R.Timings.FirstResponseSeconds}}</dd>
<dt>{{.W.handling}}</dt><dd>{{dur .W .R.Timings.HandlingSeconds}}</dd>
{{if .R.CSAT}}<dt>{{.W.csat}}</dt><dd>{{.R.CSAT.Rating}}/5 {{.R.CSAT.Comment}}</dd>{{end}}
{{if .R.TicketID}}<dt>{{.W.ticket}}</dt><dd>{{.R.TicketID}}</dd>{{end}}
{{range .R.Transfers}}<dt>{{$.W.transfers}}</dt><dd>{{stamp .At}} {{.FromAgent}} → {{.Unit}} {{.ToAgent}} ({{.Reason}})</dd>{{end}}
</dl>
<h2>{{.W.messages}}</h2><ol>{{range .R.Messages}}<li class="{{.From.Kind}}"><span class="meta">{{stamp .At}} · {{who . $.W}}</span><p class="text">{{.Text}}</p></li>{{end}}</ol>
{{with .R.NoteList}}<h2>{{$.W.notes}}</h2><ol>{{range .}}<li class="note"><span class="meta">{{stamp .At}} · {{who . $.W}}</span><p class="text">{{.Text}}</p></li>{{end}}</ol>{{end}}
{{with .R.AssignmentList}}<h2>{{$.W.assignments}}</h2><ol>{{range .}}<li><span class="meta">{{stamp .At}}</span> {{.Kind}} · {{.Unit}} · {{.AgentID}} · {{.Rule}} · {{$.W.waited}} {{.WaitedMS}} ms · {{$.W.candidates}} {{len .Candidates}}</li>{{end}}</ol>{{end}}
</body></html>
`))
