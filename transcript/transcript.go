package transcript

import (
	"context"
	"fmt"
	"strings"

	"github.com/chatd/chatd/chat"
)

// Escalations keeps chats and tickets. Escalate must call render inside the
// transaction that closes the chat, with the chat row locked, so the ticket
// holds every message the chat took and no message is stored after it.
type Escalations interface {
	Escalate(ctx context.Context, e chat.Escalation, render func(*chat.Chat, []chat.Message) (subject, text string)) (*chat.Chat, chat.Outcome, error)
}

// Service escalates chats into tickets.
type Service struct{ store Escalations }

// New returns a Service on store.
func New(store Escalations) *Service { return &Service{store: store} }

// Escalate closes an open chat into a new open ticket of its unit whose
// first entry is the chat's transcript (or adds the transcript to the
// visitor's open ticket of the unit on the same matter). The subject is e.Subject or, when
// empty, the start of the chat's first message.
func (s *Service) Escalate(ctx context.Context, e chat.Escalation) (*chat.Chat, chat.Outcome, error) {
	return s.store.Escalate(ctx, e, func(c *chat.Chat, msgs []chat.Message) (string, string) {
		subject := chat.Mask(e.Subject)
		if subject == "" && len(msgs) > 0 {
			subject = firstLine(msgs[0].Text, 80)
		}
		return subject, Text(c, msgs)
	})
}

// Text renders a chat's messages as plain text, one line each.
func Text(c *chat.Chat, msgs []chat.Message) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Chat %s (%s), started %s\n", c.ID, c.Unit, c.CreatedAt.Format("2006-01-02 15:04:05Z07:00"))
	for _, m := range msgs {
		name := m.From.Name
		if name == "" {
			name = m.From.Kind
		}
		fmt.Fprintf(&b, "[%s] %s: %s\n", m.At.Format("15:04:05"), name, m.Text)
	}
	return b.String()
}

func firstLine(s string, max int) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return chat.Cut(s, max)
}
