package live

import (
	"context"

	"github.com/redis/go-redis/v9"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/chat/access"
)

// KickVisitorToken closes, on every node, the visitor's sockets opened
// with token tokenID (4001), once it is revoked: the visitor's sockets
// opened with their other devices' tokens stay. An empty tokenID closes
// every socket of the visitor (all their tokens revoked: erasure).
func (s *Service) KickVisitorToken(ctx context.Context, visitorID, tokenID string) error {
	return s.hub.publish(ctx, s.hub.visitorChannel(visitorID), &envelope{Kind: evKick, Token: tokenID})
}

// KickVisitor tells every node sharing rdb (under prefix) to close every
// socket of the visitor now (4001), without a running Service: the command
// line uses it after revoking the visitor's tokens.
func KickVisitor(ctx context.Context, rdb redis.UniversalClient, prefix, visitorID string) error {
	h := &Hub{rdb: rdb, prefix: prefix}
	return h.publish(ctx, h.visitorChannel(visitorID), &envelope{Kind: evKick})
}

// CloseVisitorChats closes the visitor's open chat, if any, with reason:
// its agent's slot frees and the queue behind it moves up at once, and
// everyone following it hears chat.closed. Erasure calls it before the
// records go, so no live state is left behind in Redis.
func (s *Service) CloseVisitorChats(ctx context.Context, visitorID, reason string) error {
	for range 3 { // a chat started meanwhile is closed in the next round
		ch, err := s.store.OpenChat(ctx, visitorID)
		if chat.ErrorCode(err) == chat.ENotFound {
			return nil
		}
		if err != nil {
			return err
		}
		ch, outcome, err := s.store.Transit(ctx, chat.Transition{ChatID: ch.ID, From: chat.OpenStates, To: chat.StatusClosed, Reason: reason})
		if err != nil {
			return err
		}
		if outcome == chat.Applied {
			s.ended(ctx, ch, encode(closedFrame{Type: TClosed, ChatID: ch.ID, Reason: reason}))
		}
	}
	return nil
}

// auditDenied records a staff member's or an integrator's refused look at
// a chat that exists (a look at an id that names nothing is not a look at
// a record). A failure to record it is logged: the answer is a refusal
// either way.
func (s *Service) auditDenied(ctx context.Context, who chat.Principal, chatID string, refusal error) {
	if !who.IsStaff() && who.APIKey == nil {
		return
	}
	code := chat.ErrorCode(refusal)
	if code != chat.ENotFound && code != chat.ENotAssigned && code != chat.EForbidden {
		return
	}
	if _, err := s.store.Chat(ctx, chatID); err != nil {
		return
	}
	if err := s.audit.Record(ctx, who, access.AuditViewDenied, access.ObjectChat, chatID, "resume: "+code); err != nil {
		s.log.Error("audit denied look", "chat", chatID, "err", err)
	}
}

// auditRefused records, as auditDenied does for the socket, a staff
// member's or an integrator's REST read of a chat's record refused with
// 403 before the chat was looked at (a chat that does not exist is no
// record).
func (s *Service) auditRefused(ctx context.Context, who chat.Principal, action, chatID string, refusal error) {
	if (!who.IsStaff() && who.APIKey == nil) || chat.ErrorCode(refusal) != chat.EForbidden {
		return
	}
	if _, err := s.store.Chat(ctx, chatID); err != nil {
		return
	}
	if err := s.audit.Record(ctx, who, action, access.ObjectChat, chatID, chat.EForbidden); err != nil {
		s.log.Error("audit refused look", "chat", chatID, "err", err)
	}
}
