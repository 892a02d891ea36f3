package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"
)

// ReconnectResult is the reconnect storm: every socket dropped at once,
// each back after a random pause within the outage, resuming where it was
// and sending at once, so much of what is sent reaches a peer that is
// still away and must come back through resume.
type ReconnectResult struct {
	Chats          int     `json:"chats"`
	Sockets        int     `json:"sockets"`
	Outage         float64 `json:"outage_seconds"`
	MessagesPer    int     `json:"messages_per_side"`
	Sent           int64   `json:"sent"`
	SentPeerAway   int64   `json:"sent_while_peer_away"`
	Reconnect      Summary `json:"reconnect"`         // dial + hello, per socket
	Recovered      float64 `json:"recovered_seconds"` // drop -> every side has every message
	Lost           int64   `json:"lost"`              // seqs a side never saw
	Duplicates     int64   `json:"duplicates"`        // seqs a side saw twice
	Reordered      int64   `json:"reordered"`         // seqs that came after a later one
	Complete       int     `json:"chats_complete"`
	FailedSockets  int64   `json:"failed_sockets"`
	CrossNode      bool    `json:"cross_node"`
	Error          string  `json:"error,omitempty"`
	InvariantsHold bool    `json:"invariants_hold"`
}

func scenarioReconnect(ctx context.Context, b *bench) error {
	cfg := b.cfg
	b.logf("reconnect: %d chats, outage %v, %d messages per side", cfg.Reconnect, cfg.Outage, cfg.OutageMsgs)
	s, err := setupChats(ctx, b, targetChatd, cfg.Reconnect, startWindow(cfg.Reconnect))
	defer s.teardown(ctx)
	if err != nil {
		return err
	}
	r := &ReconnectResult{Chats: len(s.pairs), Sockets: len(s.pairs) + len(s.agents), Outage: cfg.Outage.Seconds(),
		MessagesPer: cfg.OutageMsgs, CrossNode: len(b.nodes) > 1}
	b.report.Reconnect = r
	// One message each way first, so both sides stand somewhere past the start.
	if err := s.exchange(ctx, 1, nil); err != nil {
		return err
	}
	if err := s.awaitCaughtUp(ctx, 30*time.Second); err != nil {
		return fmt.Errorf("before the drop: %w", err)
	}
	b.logf("reconnect: dropping %d sockets", r.Sockets)
	t0 := time.Now()
	conns := s.conns()
	for _, ac := range s.agents {
		ac.up.Store(false)
	}
	closeAll(ctx, conns)
	for _, c := range conns {
		<-c.Done()
	}
	var failed, sentAway atomic.Int64
	var lat Latencies
	away := func(p *pair, side int) bool {
		if side == sideVisitor {
			return p.agent == nil || !p.agent.up.Load()
		}
		return !p.visitorUp.Load()
	}
	for _, p := range s.pairs {
		p.visitorUp.Store(false)
	}
	// Every socket comes back after its own pause, to the other node when
	// there are two, resumes, and sends its messages at once.
	total := len(s.pairs) + len(s.agents)
	errc := make(chan error, total)
	for i := 0; i < total; i++ {
		pause := time.Duration(rand.Int64N(int64(cfg.Outage) + 1))
		go func() {
			time.Sleep(pause)
			d0 := time.Now()
			var err error
			if i < len(s.pairs) {
				p := s.pairs[i]
				if err = s.redialVisitor(ctx, p); err == nil {
					lat.Add(i, time.Since(d0))
					p.visitorUp.Store(true)
					err = s.sendSome(ctx, p.visitor, []*pair{p}, sideVisitor, cfg.OutageMsgs, away, &sentAway)
				}
			} else {
				ac := s.agents[i-len(s.pairs)]
				if err = s.redialAgent(ctx, ac); err == nil {
					lat.Add(i, time.Since(d0))
					err = s.sendSome(ctx, ac.conn, ac.chats, sideAgent, cfg.OutageMsgs, away, &sentAway)
				}
			}
			if err != nil {
				failed.Add(1)
			}
			errc <- err
		}()
	}
	var firstErr error
	for range total {
		if err := <-errc; err != nil && firstErr == nil {
			firstErr = err
		}
	}
	r.FailedSockets = failed.Load()
	r.Reconnect = lat.Summary()
	r.SentPeerAway = sentAway.Load()
	r.Sent = int64(len(s.pairs)) * 2 * int64(cfg.OutageMsgs)
	waitErr := s.awaitCaughtUp(ctx, 30*time.Second)
	r.Recovered = time.Since(t0).Seconds()
	shown := 0
	for _, p := range s.pairs {
		want := p.maxSeq.Load()
		complete := true
		for side := range 2 {
			_, dups, reordered := p.track[side].get()
			missing := p.track[side].missing(want)
			r.Duplicates += dups
			r.Reordered += reordered
			r.Lost += missing
			if dups > 0 || reordered > 0 || missing > 0 {
				complete = false
				if shown++; shown <= 5 {
					last, _, _ := p.track[side].get()
					b.logf("reconnect: chat %s %s side: up to seq %d complete of %d, %d duplicated, %d reordered, %d missing",
						p.chatID, [2]string{"visitor", "agent"}[side], last, want, dups, reordered, missing)
				}
			}
		}
		if complete {
			r.Complete++
		}
	}
	r.InvariantsHold = r.Lost == 0 && r.Duplicates == 0 && r.Reordered == 0 && r.Complete == r.Chats && r.FailedSockets == 0
	b.logf("reconnect: recovered in %.2fs, lost %d, duplicates %d, reordered %d, %d/%d chats complete", r.Recovered, r.Lost, r.Duplicates, r.Reordered, r.Complete, r.Chats)
	if firstErr != nil {
		r.Error = firstErr.Error()
		return fmt.Errorf("%d sockets failed, first: %w", failed.Load(), firstErr)
	}
	if waitErr != nil {
		r.Error = waitErr.Error()
	}
	return nil
}

// redialVisitor reconnects a visitor (to the other node when there are
// two) and resumes its chat after the last seq it saw.
func (s *chatSet) redialVisitor(ctx context.Context, p *pair) error {
	p.vNode = (p.vNode + 1) % len(s.b.nodes)
	c, hello, err := Dial(ctx, wsURL(s.b.nodes[p.vNode].base, "/ws/visitor?token="+p.vToken), s.visitorHandler(p), true)
	if err != nil {
		return fmt.Errorf("visitor redial: %w", err)
	}
	p.visitor = c
	if hello.Chat == nil || hello.Chat.ID != p.chatID {
		return fmt.Errorf("visitor redial: hello without chat %s", p.chatID)
	}
	last, _, _ := p.track[sideVisitor].get()
	return c.Send(ctx, mustJSON(map[string]any{"type": "resume", "chat_id": p.chatID, "after_seq": last}))
}

// redialAgent reconnects an agent and resumes each of its chats.
func (s *chatSet) redialAgent(ctx context.Context, ac *agentConn) error {
	if err := s.dialAgent(ctx, ac, (ac.node+1)%len(s.b.nodes)); err != nil {
		return err
	}
	for _, p := range ac.chats {
		last, _, _ := p.track[sideAgent].get()
		if err := ac.conn.Send(ctx, mustJSON(map[string]any{"type": "resume", "chat_id": p.chatID, "after_seq": last})); err != nil {
			return err
		}
	}
	return nil
}

// sendSome sends k messages into each chat from one side and waits for
// their acks, noting how many went out while the peer was away.
func (s *chatSet) sendSome(ctx context.Context, c *Conn, chats []*pair, side, k int, away func(*pair, int) bool, sentAway *atomic.Int64) error {
	for i := 0; i < k; i++ {
		for _, p := range chats {
			if away != nil && away(p, side) {
				sentAway.Add(1)
			}
			ack, err := c.Call(ctx, map[string]any{"type": "message", "chat_id": p.chatID, "text": fmt.Sprintf("reconnect %d %d", side, i)})
			if err != nil {
				return err
			}
			p.noteAck(ack.Seq)
		}
	}
	return nil
}

// exchange sends k messages each way in every chat.
func (s *chatSet) exchange(ctx context.Context, k int, sentAway *atomic.Int64) error {
	err := parallel(ctx, len(s.pairs), 64, func(ctx context.Context, i int) error {
		p := s.pairs[i]
		return s.sendSome(ctx, p.visitor, []*pair{p}, sideVisitor, k, nil, sentAway)
	})
	if err != nil {
		return err
	}
	return parallel(ctx, len(s.agents), 16, func(ctx context.Context, i int) error {
		ac := s.agents[i]
		return s.sendSome(ctx, ac.conn, ac.chats, sideAgent, k, nil, sentAway)
	})
}

// awaitCaughtUp waits until both sides of every chat have seen its last
// acked seq.
func (s *chatSet) awaitCaughtUp(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		behind := 0
		for _, p := range s.pairs {
			want := p.maxSeq.Load()
			for side := range 2 {
				if last, _, _ := p.track[side].get(); last < want {
					behind++
				}
			}
		}
		if behind == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d chat sides still behind after %v", behind, limit)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}
