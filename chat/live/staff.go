package live

import (
	"context"
	"errors"
	"slices"

	"github.com/redis/go-redis/v9"

	"github.com/chatd/chatd/assign"
	"github.com/chatd/chatd/chat"
)

// Staff accounts change under live connections: the assigner must learn of
// a new capacity at once, and a staff member whose sessions end (account
// disabled, password changed, logged out) must lose their sockets on every
// node. The database is the record: every node checks its staff sockets'
// sessions on each heartbeat, so a change made anywhere (another node, the
// command line) takes effect within seconds; a change made through this
// node is also published so every node acts at once.

// AgentChanged applies a change to a staff account that is already stored.
func (s *Service) AgentChanged(ctx context.Context, before, after *chat.Agent) error {
	s.names.Delete(after.ID)
	if after.Disabled || after.PasswordHash != before.PasswordHash {
		s.Kick(ctx, after.ID)
	}
	if after.Disabled {
		if !before.Disabled {
			s.offline(ctx, after)
		}
		return nil
	}
	if after.MaxChats != before.MaxChats || after.Name != before.Name || !slices.Equal(after.Units, before.Units) {
		// A raise or a new unit takes waiting chats. An agent the assigner
		// has not seen yet is registered on coming online.
		as, err := s.assign.Update(ctx, assignAgent(after))
		if err != nil && !errors.Is(err, assign.ErrNotFound) {
			return err
		}
		s.apply(ctx, as)
	}
	return nil
}

// Kick closes every socket of the staff member on every node (4001).
func (s *Service) Kick(ctx context.Context, agentID string) {
	if err := KickAgent(ctx, s.rdb, s.cfg.Prefix, agentID); err != nil {
		s.log.Warn("close staff sockets", "agent", agentID, "err", err)
	}
}

// KickAgent tells every node sharing rdb (under prefix) to close the staff
// member's sockets now, without a running Service: the command line uses
// it when it shares the cluster's Redis.
func KickAgent(ctx context.Context, rdb redis.UniversalClient, prefix, agentID string) error {
	h := &Hub{rdb: rdb, prefix: prefix}
	return h.publish(ctx, h.agentChannel(agentID), &envelope{Kind: evKick})
}

// offline takes a disabled agent out of assignment; the chats they had wait
// out the grace period like any disconnected agent's, then go back to the
// queue.
func (s *Service) offline(ctx context.Context, a *chat.Agent) {
	as, err := s.assign.SetPresence(ctx, assignAgent(a), assign.StatusOffline)
	if err != nil {
		s.log.Warn("disabled agent offline", "agent", a.ID, "err", err)
		return
	}
	s.apply(ctx, as)
}

// checkSessions closes this node's staff sockets whose session is no
// longer live, and takes the agents among them whose account is disabled
// out of assignment.
func (s *Service) checkSessions(ctx context.Context) {
	var tokens []string
	byToken := map[string][]*conn{}
	for _, c := range s.hub.all() {
		if c.session == "" {
			continue
		}
		if byToken[c.session] == nil {
			tokens = append(tokens, c.session)
		}
		byToken[c.session] = append(byToken[c.session], c)
	}
	if len(tokens) == 0 {
		return
	}
	live, err := s.store.LiveSessions(ctx, tokens)
	if err != nil {
		s.log.Warn("check sessions", "err", err)
		return
	}
	ended := map[string]bool{}
	for _, t := range tokens {
		if live[t] {
			continue
		}
		for _, c := range byToken[t] {
			c.close(closeSessionEnded, "session ended")
			ended[c.who.Agent.ID] = true
		}
	}
	for id := range ended {
		a, err := s.store.Agent(ctx, id)
		if err != nil {
			s.log.Warn("ended session's agent", "agent", id, "err", err)
			continue
		}
		if a.Disabled {
			s.offline(ctx, a)
		}
	}
}
