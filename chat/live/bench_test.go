package live

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
)

func BenchmarkDecodeFrame(b *testing.B) {
	data := []byte(`{"type":"message","client_id":"0d6c1b3e-8a4f-4f43-9d0e-7c1f0f4f6a11","chat_id":"5b0e8a52-53c4-4b8e-9f0b-2d9f1c7c2f10","text":"hello, I cannot log in to my account since yesterday"}`)
	b.ReportAllocs()
	for b.Loop() {
		var f inFrame
		if err := json.Unmarshal(data, &f); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeMessage(b *testing.B) {
	m := chat.Message{ChatID: "5b0e8a52-53c4-4b8e-9f0b-2d9f1c7c2f10", Kind: chat.KindMessage, Seq: 42,
		From: chat.Sender{Kind: chat.FromAgent, ID: "a1", Name: "Ece"}, Text: "Merhaba, size nasıl yardımcı olabilirim?", At: time.Now()}
	b.ReportAllocs()
	for b.Loop() {
		e := &envelope{Kind: evFrame, Chat: m.ChatID, Seq: m.Seq, Frame: encode(newMessageFrame(m))}
		_ = e.marshal()
	}
}

func BenchmarkEnvelopeRoundTrip(b *testing.B) {
	e := &envelope{Kind: evFrame, Chat: "5b0e8a52-53c4-4b8e-9f0b-2d9f1c7c2f10", Seq: 42, Frame: []byte(`{"type":"message","text":"x"}`)}
	payload := e.marshal()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := unmarshalEnvelope(payload); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFanOut is one relayed message reaching 100 local connections
// of its chat: envelope decoding and non-blocking hand-off to each outbox.
func BenchmarkFanOut(b *testing.B) {
	h := &Hub{prefix: "{b}:", subs: map[string]*channelSubs{}, conns: map[*conn]struct{}{}}
	svc := &Service{metrics: newMetrics()}
	ch := h.chatChannel("c1")
	s := &channelSubs{conns: map[*conn]struct{}{}, ready: make(chan struct{})}
	h.subs[ch] = s
	conns := make([]*conn, 100)
	for i := range conns {
		c := &conn{svc: svc, out: newOutbox(1 << 30), channels: map[string]struct{}{}}
		c.out.running = true // no writer: the benchmark drains the outboxes itself
		s.conns[c] = struct{}{}
		conns[i] = c
	}
	payload := (&envelope{Kind: evFrame, Chat: "c1", Seq: 7, Frame: encode(newMessageFrame(chat.Message{ChatID: "c1", Kind: chat.KindMessage, Seq: 7, Text: "hello", At: time.Now()}))}).marshal()
	b.ReportAllocs()
	for b.Loop() {
		h.dispatch(ch, payload)
		for _, c := range conns {
			c.out.items = c.out.items[:0]
		}
	}
}
