package live

import (
	"context"

	"github.com/chatd/chatd/chat"
)

// A connection's greeting runs on its writer, which owns what the
// connection has delivered, so the chats are read after the subscriptions
// hold: whatever hello reports as last_seq, anything later arrives live.

// greetStaff follows the agent's channel, its units' queues and its active
// chats, marks the agent connected, and sends hello, then the queues as
// last seen (a change since follows).
func (s *Service) greetStaff(ctx context.Context, c *conn) error {
	a := c.who.Agent
	channels := []string{s.hub.agentChannel(a.ID)}
	for _, u := range a.Units {
		channels = append(channels, s.hub.unitChannel(u))
	}
	chats, err := s.followFromStart(ctx, c, channels, func() ([]*chat.Chat, error) { return s.store.AgentChats(ctx, a.ID) })
	if err != nil {
		return err
	}
	live, err := s.chatsWithPresence(ctx, chats)
	if err != nil {
		return err
	}
	// A reconnect within the grace period keeps the chats; the agent's
	// status is restored, and an online agent takes waiting chats (after
	// hello, which lists the chats held before).
	as, err := s.assign.Connected(ctx, a.ID, s.node)
	if err != nil {
		return err
	}
	hello := s.hello(a.Role)
	hello.staffHello = &staffHello{Agent: a, Chats: live}
	if err := c.write(ctx, encode(hello)); err != nil {
		return err
	}
	for _, u := range a.Units {
		if f := s.queueSnapshot(u); f != nil {
			c.reply(f)
		}
		s.onQueueChanged(u, nil)
	}
	s.apply(ctx, as)
	return nil
}

// greetVisitor follows the visitor's channel and open chat, and sends
// hello with the chat, then where it stands.
func (s *Service) greetVisitor(ctx context.Context, c *conn) error {
	id := c.who.VisitorID
	chats, err := s.followFromStart(ctx, c, []string{s.hub.visitorChannel(id)}, func() ([]*chat.Chat, error) {
		ch, err := s.store.OpenChat(ctx, id)
		if chat.ErrorCode(err) == chat.ENotFound {
			return nil, nil
		}
		return []*chat.Chat{ch}, err
	})
	if err != nil {
		return err
	}
	hello := s.hello(chat.KindVisitor)
	hello.VisitorID = id
	var state []byte
	if len(chats) > 0 {
		ch := chats[0]
		hello.Chat = ch
		if state, err = s.standing(ctx, c, ch); err != nil {
			return err
		}
	}
	// Counted before hello: once greeted, the visitor is present on
	// every node's reckoning.
	if err := s.visitorCame(ctx, c); err != nil {
		return err
	}
	if err := c.write(ctx, encode(hello)); err != nil {
		return err
	}
	if state != nil {
		return c.write(ctx, state)
	}
	return nil
}

// standing is the frame that says where a visitor's open chat stands:
// its place in the queue, or its agent (nil when it was assigned while
// being read: chat.assigned follows).
func (s *Service) standing(ctx context.Context, c *conn, ch *chat.Chat) ([]byte, error) {
	if ch.Status == chat.StatusQueued {
		q, err := s.queuedFrame(ctx, ch)
		if err != nil || q.Position == 0 {
			return nil, err
		}
		if st := c.follow.chats[ch.ID]; st != nil {
			st.told = (&place{unit: q.Unit, position: q.Position}).key()
		}
		return encode(q), nil
	}
	f, err := s.assignedFrame(ctx, ch, nil, nil, false)
	if err != nil {
		return nil, err
	}
	c.announce(ch.ID, assignment(ch))
	return encode(f), nil
}

func (s *Service) hello(role string) helloFrame {
	return helloFrame{Type: THello, Role: role, Units: s.cfg.Units, MaxBytes: s.cfg.MaxMessageBytes}
}

// followFromStart subscribes c to its own channels and to the chats load
// returns, then loads them again so the state it returns is no older than
// the subscriptions. The chats are held for the client's resume.
func (s *Service) followFromStart(ctx context.Context, c *conn, channels []string, load func() ([]*chat.Chat, error)) ([]*chat.Chat, error) {
	for _, ch := range channels {
		if err := s.hub.subscribe(ctx, ch, c); err != nil {
			return nil, err
		}
	}
	chats, err := load()
	if err != nil {
		return nil, err
	}
	for _, ch := range chats {
		if err := s.hub.subscribe(ctx, s.hub.chatChannel(ch.ID), c); err != nil {
			return nil, err
		}
	}
	if len(chats) == 0 {
		return nil, nil
	}
	if chats, err = load(); err != nil {
		return nil, err
	}
	for _, ch := range chats {
		if err := s.hub.subscribe(ctx, s.hub.chatChannel(ch.ID), c); err != nil { // one assigned in between
			return nil, err
		}
		c.follow.follow(ch.ID, marks{ch.LastSeq, ch.LastSeq}, marks{ch.LastNote, ch.LastNote}, true).unit = ch.Unit
		c.allow(ch.ID)
	}
	return chats, nil
}
