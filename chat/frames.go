package chat

import (
	"bytes"
	"encoding/json"
	"time"
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
	TAck         = "ack"
	TError       = "error"
	THello       = "hello"
	TQueued      = "chat.queued"
	TAssigned    = "chat.assigned"
	TTransferred = "chat.transferred"
	TClosed      = "chat.closed"
	TEscalated   = "chat.escalated"
	TQueue       = "queue"
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

// mutates reports whether a frame type changes stored state and so needs a
// client_id and gets an ack.
func mutates(t string) bool {
	switch t {
	case TTyping, TRead, TResume:
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
	Type   string `json:"type"`
	ChatID string `json:"chat_id"`
	Seq    int64  `json:"seq"`
	From   Sender `json:"from"`
	Text   string `json:"text"`
	At     string `json:"at"`
}

func newMessageFrame(m Message) messageFrame {
	t := TMessage
	if m.Kind == KindNote {
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
	Type     string         `json:"type"`
	ChatID   string         `json:"chat_id"`
	Unit     string         `json:"unit"`
	Agent    agentRef       `json:"agent"`
	Visitor  *Visitor       `json:"visitor,omitempty"`
	Chat     *Chat          `json:"chat,omitempty"`
	History  []messageFrame `json:"history,omitempty"`
	Notes    []messageFrame `json:"notes,omitempty"`
	LastSeq  int64          `json:"last_seq"`
	LastNote int64          `json:"last_note,omitempty"`
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

type typingFrame struct {
	Type   string `json:"type"`
	ChatID string `json:"chat_id"`
	On     bool   `json:"on"`
	From   Sender `json:"from"`
}

type readFrame struct {
	Type   string `json:"type"`
	ChatID string `json:"chat_id"`
	Seq    int64  `json:"seq"`
	From   Sender `json:"from"`
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
}

type queueFrame struct {
	Type  string      `json:"type"`
	Unit  string      `json:"unit"`
	Chats []queueItem `json:"chats"`
}

type helloFrame struct {
	Type      string   `json:"type"`
	Role      string   `json:"role"`
	VisitorID string   `json:"visitor_id,omitempty"`
	Agent     *Agent   `json:"agent,omitempty"`
	Chat      *Chat    `json:"chat,omitempty"`
	Chats     []*Chat  `json:"chats,omitempty"`
	Units     []string `json:"units"`
	MaxBytes  int      `json:"max_message_bytes"`
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
	return encode(errorFrame{Type: TError, Code: ErrorCode(err), Message: ErrorMessage(err), Ref: ref})
}
