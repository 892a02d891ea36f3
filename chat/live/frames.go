package live

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"time"

	"github.com/chatd/chatd/chat"
)

// Frame types of the WebSocket protocol (PROTOCOL.md).
const (
	TStart       = "chat.start"
	TMessage     = "message"
	TTyping      = "typing"
	TRead        = "read"
	TResume      = "resume"
	TClose       = "chat.close"
	TCSAT        = "csat"
	TPresence    = "presence"
	TNote        = "note"
	TTransfer    = "chat.transfer"
	TEscalate    = "chat.escalate"
	TPing        = "ping"
	TPong        = "pong"
	TAck         = "ack"
	TError       = "error"
	THello       = "hello"
	TQueued      = "chat.queued"
	TAssigned    = "chat.assigned"
	TTransferred = "chat.transferred"
	TClosed      = "chat.closed"
	TEscalated   = "chat.escalated"
	TQueue       = "queue"
	// Staff following a chat: its visitor's last socket closed, or one
	// opened again.
	TVisitorOnline  = "visitor.online"
	TVisitorOffline = "visitor.offline"
)

// inFrame is any client frame; which fields matter depends on Type.
type inFrame struct {
	Type         string `json:"type"`
	ClientID     string `json:"client_id"`
	ChatID       string `json:"chat_id"`
	Text         string `json:"text"`
	Unit         string `json:"unit"`
	AgeConfirmed bool   `json:"age_confirmed"`
	Name         string `json:"name"`
	Email        string `json:"email"`
	On           bool   `json:"on"`
	Seq          int64  `json:"seq"`
	AfterSeq     int64  `json:"after_seq"`
	AfterNote    *int64 `json:"after_note"`
	Rating       int    `json:"rating"`
	Comment      string `json:"comment"`
	Status       string `json:"status"`
	AgentID      string `json:"agent_id"`
	Subject      string `json:"subject"`
}

// decodeFrame reads one client frame. On an error the frame holds what
// could be decoded (a client_id, to answer with a ref).
func decodeFrame(data []byte) (inFrame, *chat.Error) {
	var f inFrame
	if err := json.Unmarshal(data, &f); err != nil { // a wrongly typed field leaves the others decoded
		return f, frameError(err)
	}
	// A NUL can only arrive escaped (raw control characters are not JSON),
	// so most frames are cleared by one scan of their bytes.
	if bytes.Contains(data, []byte(`\u0000`)) && chat.HasNUL(&f) {
		return f, chat.ErrNUL
	}
	return f, nil
}

// frameError says what is wrong with a frame that did not decode: a field
// of the wrong JSON type is an invalid request naming the field; anything
// else is not a JSON object at all.
func frameError(err error) *chat.Error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		want := "a string"
		switch te.Type.Kind() {
		case reflect.Bool:
			want = "true or false"
		case reflect.Int, reflect.Int64, reflect.Pointer:
			want = "a whole number"
		}
		return chat.Errorf(chat.EInvalid, "field %q must be %s, not %s", te.Field, want, te.Value)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return chat.Errorf(chat.EBadFrame, "frame is not valid JSON (at byte %d)", se.Offset)
	}
	return chat.Errorf(chat.EBadFrame, "frame is not a JSON object")
}

// mutates reports whether a frame type changes stored state and so needs a
// client_id and gets an ack.
func mutates(t string) bool {
	switch t {
	case TTyping, TRead, TResume, TPing:
		return false
	}
	return true
}

type ackFrame struct {
	Type     string `json:"type"`
	ClientID string `json:"client_id"`
	ChatID   string `json:"chat_id,omitempty"`
	Seq      int64  `json:"seq,omitempty"`
	TicketID string `json:"ticket_id,omitempty"`
	Existing bool   `json:"existing,omitempty"`
}

type errorFrame struct {
	Type    string `json:"type"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Ref     string `json:"ref,omitempty"`
}

type agentRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// messageFrame is a stored message or note as sent to clients.
type messageFrame struct {
	Type   string      `json:"type"`
	ChatID string      `json:"chat_id"`
	Seq    int64       `json:"seq"`
	From   chat.Sender `json:"from"`
	Text   string      `json:"text"`
	At     string      `json:"at"`
}

func newMessageFrame(m chat.Message) messageFrame {
	t := TMessage
	if m.Kind == chat.KindNote {
		t = TNote
	}
	return messageFrame{Type: t, ChatID: m.ChatID, Seq: m.Seq, From: m.From, Text: m.Text, At: m.At.UTC().Format(time.RFC3339Nano)}
}

type queuedFrame struct {
	Type       string `json:"type"`
	ChatID     string `json:"chat_id"`
	Unit       string `json:"unit"`
	Position   int    `json:"position"`
	ETASeconds int    `json:"eta_seconds"`
	Offline    bool   `json:"offline"`
}

type assignedFrame struct {
	Type           string   `json:"type"`
	ChatID         string   `json:"chat_id"`
	Unit           string   `json:"unit"`
	Agent          agentRef `json:"agent"`
	LastSeq        int64    `json:"last_seq"`
	*staffAssigned          // staff's copy only
}

// staffAssigned is what the agent's chat.assigned adds; every field is
// present, empty or not.
type staffAssigned struct {
	Visitor  *chat.Visitor  `json:"visitor"`
	Chat     *liveChat      `json:"chat"`
	History  []messageFrame `json:"history"`
	Notes    []messageFrame `json:"notes"`
	LastNote int64          `json:"last_note"`
}

type transferredFrame struct {
	Type      string    `json:"type"`
	ChatID    string    `json:"chat_id"`
	Unit      string    `json:"unit"`
	FromAgent *agentRef `json:"from_agent,omitempty"`
	Agent     *agentRef `json:"agent,omitempty"`
	Reason    string    `json:"reason,omitempty"`
}

type closedFrame struct {
	Type   string `json:"type"`
	ChatID string `json:"chat_id"`
	Reason string `json:"reason"`
}

type escalatedFrame struct {
	Type     string `json:"type"`
	ChatID   string `json:"chat_id"`
	TicketID string `json:"ticket_id"`
}

// pongFrame answers a client's ping.
type pongFrame struct {
	Type string `json:"type"`
}

type typingFrame struct {
	Type   string      `json:"type"`
	ChatID string      `json:"chat_id"`
	On     bool        `json:"on"`
	From   chat.Sender `json:"from"`
}

type readFrame struct {
	Type   string      `json:"type"`
	ChatID string      `json:"chat_id"`
	Seq    int64       `json:"seq"`
	From   chat.Sender `json:"from"`
}

type presenceFrame struct {
	Type   string   `json:"type"`
	Agent  agentRef `json:"agent"`
	Status string   `json:"status"`
	Units  []string `json:"units"`
}

type queueItem struct {
	ChatID     string `json:"chat_id"`
	Position   int    `json:"position"`
	ETASeconds int    `json:"eta_seconds"`
	Priority   int    `json:"priority"`
	// Since is when the chat joined the queue (again, after a requeue or a
	// transfer), so a console can show how long it waits.
	Since time.Time `json:"since"`
}

type queueFrame struct {
	Type  string      `json:"type"`
	Unit  string      `json:"unit"`
	Chats []queueItem `json:"chats"`
}

type helloFrame struct {
	Type      string     `json:"type"`
	Role      string     `json:"role"`
	VisitorID string     `json:"visitor_id,omitempty"`
	Chat      *chat.Chat `json:"chat,omitempty"`
	Units     []string   `json:"units"`
	MaxBytes  int        `json:"max_message_bytes"`
	*staffHello
}

// staffHello is what a staff connection's hello adds.
type staffHello struct {
	Agent *chat.Agent `json:"agent"`
	Chats []*liveChat `json:"chats"` // active chats, [] when none
}

// encode marshals a frame; frames are plain structs, so it cannot fail.
func encode(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic("encode frame: " + err.Error())
	}
	return bytes.TrimRight(b.Bytes(), "\n")
}

func errFrame(err error, ref string) []byte {
	return encode(errorFrame{Type: TError, Code: chat.ErrorCode(err), Message: chat.ErrorMessage(err), Ref: ref})
}
