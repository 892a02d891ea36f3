package live

import (
	"context"
	"hash/fnv"

	"github.com/chatd/chatd/chat"
)

// pending is one message waiting for its group commit. done is called
// from the writer once the outcome is stored, before the message is
// relayed, so the sender's ack is queued ahead of its own echo; relayed
// is called after the relay. Neither may block.
type pending struct {
	req     chat.AppendRequest
	done    func(chat.AppendResult)
	relayed func()
}

// startWriters runs the group-commit writers. Each owns a share of the
// chats (by id hash), so one chat's messages are always committed by one
// writer in arrival order, and writers never contend for the same chat.
func (s *Service) startWriters(ctx context.Context) {
	s.writers = make([]chan *pending, s.cfg.Writers)
	for i := range s.writers {
		ch := make(chan *pending, 4*s.cfg.MaxBatch)
		s.writers[i] = ch
		s.loops.Add(1)
		go func() {
			defer s.loops.Done()
			s.writeLoop(ctx, ch)
		}()
	}
}

// append hands a message to the group commit; done learns the outcome
// once the message is durable (or refused), before it is relayed, and
// relayed runs once it was. It blocks only while the writer's queue is
// full.
func (s *Service) append(ctx context.Context, r chat.AppendRequest, done func(chat.AppendResult), relayed func()) {
	h := fnv.New32a()
	h.Write([]byte(r.ChatID))
	p := &pending{req: r, done: done, relayed: relayed}
	fail := func(err error) {
		done(chat.AppendResult{Err: err})
		relayed()
	}
	select {
	case s.writers[int(h.Sum32())%len(s.writers)] <- p:
	case <-ctx.Done():
		fail(ctx.Err())
	case <-s.closing:
		fail(chat.Errorf(chat.EUnavailable, "server shutting down"))
	}
}

// writeLoop takes whatever is waiting, up to MaxBatch, commits it as one
// transaction and publishes the stored messages in one pipeline. Under light
// load a batch is one message and nothing waits for company.
func (s *Service) writeLoop(ctx context.Context, in chan *pending) {
	batch := make([]*pending, 0, s.cfg.MaxBatch)
	reqs := make([]chat.AppendRequest, 0, s.cfg.MaxBatch)
	for {
		batch, reqs = batch[:0], reqs[:0]
		select {
		case <-ctx.Done():
			return
		case p := <-in:
			batch = append(batch, p)
		}
	fill:
		for len(batch) < s.cfg.MaxBatch {
			select {
			case p := <-in:
				batch = append(batch, p)
			default:
				break fill
			}
		}
		for _, p := range batch {
			reqs = append(reqs, p.req)
		}
		timer := s.metrics.commit.Start()
		res := s.store.AppendBatch(context.WithoutCancel(ctx), reqs)
		timer.Stop(len(reqs))
		// The senders' acks are queued before the relay: a sender's own
		// copy can never overtake its ack.
		for i, p := range batch {
			p.done(res[i])
		}
		msgs := make([]published, 0, len(res))
		for _, r := range res {
			if r.Err != nil || r.Duplicate {
				continue
			}
			e := &envelope{Kind: evFrame, Chat: r.Message.ChatID, Frame: encode(newMessageFrame(r.Message))}
			if r.Message.Kind == chat.KindNote {
				e.Note, e.Staff = r.Message.Seq, true
			} else {
				e.Seq = r.Message.Seq
			}
			msgs = append(msgs, published{s.hub.chatChannel(r.Message.ChatID), e})
		}
		s.metrics.stored.Add(float64(len(msgs)))
		if err := s.hub.publishMany(context.WithoutCancel(ctx), msgs); err != nil {
			// Stored but not relayed now: followers fill the gap from the
			// store on the next message or on resume.
			s.log.Warn("relay", "err", err, "messages", len(msgs))
		}
		for _, p := range batch {
			p.relayed()
		}
	}
}
