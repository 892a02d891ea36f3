package assign

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// Priorities are clamped to this range so queue scores stay exact.
const (
	MinPriority = -99
	MaxPriority = 99
)

// QueuedChat is a waiting chat with its 1-based place in the queue and the
// expected wait.
type QueuedChat struct {
	ChatID   string
	Position int
	ETA      time.Duration
	Priority int
	Since    time.Time // when it joined the queue (again, after a requeue or transfer)
}

// Enqueue puts a chat in its unit's queue, higher priority first and then
// by arrival, and assigns the queue heads to free agents. A chat already
// queued or assigned is left as it is.
func (r *Redis) Enqueue(ctx context.Context, chatID, unit string, priority int) ([]Assignment, error) {
	return r.EnqueueChat(ctx, Waiting{ChatID: chatID, Unit: unit, Priority: priority})
}

// Waiting is a chat to queue.
type Waiting struct {
	ChatID, Unit string
	Priority     int
	// VisitorID, when set, ties the chat to its visitor's presence
	// (VisitorConnected): a chat whose visitor has no socket open counts
	// as left from the moment it is queued.
	VisitorID string
}

// EnqueueChat is Enqueue for a chat whose visitor's presence is tracked.
func (r *Redis) EnqueueChat(ctx context.Context, w Waiting) ([]Assignment, error) {
	if w.ChatID == "" || w.Unit == "" {
		return nil, fmt.Errorf("assign: enqueue %q in %q: empty chat id or unit", w.ChatID, w.Unit)
	}
	priority := min(max(w.Priority, MinPriority), MaxPriority)
	k := r.keys
	out, err := r.mutate(ctx, enqueueScript,
		[]string{k.chat(w.ChatID), k.queue(w.Unit), k.arrivals(), k.units()}, w.ChatID, w.Unit, priority, w.VisitorID)
	if err != nil {
		return nil, fmt.Errorf("assign: enqueue %s: %w", w.ChatID, err)
	}
	return out, nil
}

// Restore records that chatID, which the database holds as active, is
// agentID's, when Redis does not know the chat: after an embedded Redis
// started empty, the agent's load counts the chat again. A chat Redis knows
// is left as it is. visitorID (optional) ties the chat to its visitor's
// presence.
func (r *Redis) Restore(ctx context.Context, chatID, unit string, priority int, agentID, visitorID string) error {
	if chatID == "" || unit == "" || agentID == "" {
		return fmt.Errorf("assign: restore %q: empty chat, unit or agent", chatID)
	}
	priority = min(max(priority, MinPriority), MaxPriority)
	k := r.keys
	if _, err := r.run(ctx, restoreScript, []string{k.chat(chatID), k.agentChats(agentID), k.arrivals(), k.units()}, chatID, unit, priority, agentID, visitorID); err != nil {
		return fmt.Errorf("assign: restore %s: %w", chatID, err)
	}
	return nil
}

// Release forgets a chat that was closed or escalated: it frees the agent's
// slot, recording the handling time for the ETA, and drains that agent's
// queues; a still queued chat just leaves its queue. Releasing an unknown
// chat does nothing.
func (r *Redis) Release(ctx context.Context, chatID string) ([]Assignment, error) {
	out, err := r.mutate(ctx, releaseScript, []string{r.keys.chat(chatID)}, chatID)
	if err != nil {
		return nil, fmt.Errorf("assign: release %s: %w", chatID, err)
	}
	return out, nil
}

// Transfer moves an assigned or queued chat to another unit, another agent,
// or both (an empty toUnit keeps the chat's unit). Without an agent the chat
// joins the unit's queue in its original priority and arrival order, and may
// be assigned at once. A named agent must be online, serve the unit and have
// a free slot, or Transfer fails with ErrAgentUnavailable or ErrAgentFull.
// The old agent's slot is freed and its queues drained; the returned
// assignments include the transferred chat's if it was assigned.
func (r *Redis) Transfer(ctx context.Context, chatID, toUnit, toAgentID string) ([]Assignment, error) {
	if toUnit == "" && toAgentID == "" {
		return nil, fmt.Errorf("assign: transfer %s: no unit or agent given", chatID)
	}
	out, err := r.mutate(ctx, transferScript, []string{r.keys.chat(chatID), r.keys.units()}, chatID, toUnit, toAgentID)
	if err != nil {
		return nil, fmt.Errorf("assign: transfer %s: %w", chatID, err)
	}
	return out, nil
}

// Sweep takes the chats of agents gone for longer than Config.Grace (no
// heartbeat for HeartbeatTTL+Grace, or disconnected for Grace) back to the
// head of their queues, ahead of every other chat and in their former order,
// forgets those agents' liveness, and drains every queue. Each chat taken
// back is reported with Requeued set, with the new agent if it was assigned
// again at once and an empty AgentID if it waits. Sweep is safe to run on
// every node every second.
func (r *Redis) Sweep(ctx context.Context) ([]Assignment, error) {
	k := r.keys
	out, err := r.mutate(ctx, sweepScript, []string{k.heartbeats(), k.disconnects(), k.units()})
	if err != nil {
		return nil, fmt.Errorf("assign: sweep: %w", err)
	}
	return out, nil
}

// Queue returns the unit's waiting chats in order.
func (r *Redis) Queue(ctx context.Context, unit string) ([]QueuedChat, error) {
	v, err := r.run(ctx, queueScript, []string{r.keys.queue(unit)}, unit)
	if err != nil {
		return nil, fmt.Errorf("assign: queue of %s: %w", unit, err)
	}
	if len(v) < 3 || (len(v)-3)%3 != 0 {
		return nil, fmt.Errorf("assign: queue of %s: malformed reply of %d fields", unit, len(v))
	}
	eta, err := r.eta(v[0], v[1], v[2])
	if err != nil {
		return nil, fmt.Errorf("assign: queue of %s: %w", unit, err)
	}
	var out []QueuedChat
	for v = v[3:]; len(v) > 0; v = v[3:] {
		prio, err := atoi(v[1])
		if err != nil {
			return nil, fmt.Errorf("assign: queue of %s: %w", unit, err)
		}
		enq, err := strconv.ParseInt(v[2], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("assign: queue of %s: %w", unit, err)
		}
		pos := len(out) + 1
		out = append(out, QueuedChat{ChatID: v[0], Position: pos, ETA: eta(pos), Priority: prio, Since: time.UnixMilli(enq).UTC()})
	}
	return out, nil
}

// Position reports the chat's unit and, while it waits, its 1-based place
// in the queue and expected wait; pos is 0 once the chat is assigned.
// An unknown chat gives ErrNotFound.
func (r *Redis) Position(ctx context.Context, chatID string) (unit string, pos int, eta time.Duration, err error) {
	v, err := r.run(ctx, positionScript, []string{r.keys.chat(chatID)}, chatID)
	if err != nil {
		return "", 0, 0, fmt.Errorf("assign: position of %s: %w", chatID, err)
	}
	if len(v) == 1 && v[0] == "notfound" {
		return "", 0, 0, fmt.Errorf("assign: position of %s: %w", chatID, ErrNotFound)
	}
	if len(v) != 6 || v[0] != "ok" {
		return "", 0, 0, fmt.Errorf("assign: position of %s: malformed reply %q", chatID, v)
	}
	if pos, err = atoi(v[2]); err != nil {
		return "", 0, 0, fmt.Errorf("assign: position of %s: %w", chatID, err)
	}
	if pos == 0 {
		return v[1], 0, 0, nil
	}
	f, err := r.eta(v[3], v[4], v[5])
	if err != nil {
		return "", 0, 0, fmt.Errorf("assign: position of %s: %w", chatID, err)
	}
	return v[1], pos, f(pos), nil
}

// eta turns a unit's recent handling times (sum in ms and count) and the
// capacity of its online agents into the expected wait per queue position:
// every handling time frees one of the capacity slots, so the pos-th chat
// waits pos handling times shared among the slots.
func (r *Redis) eta(sumMS, count, capacity string) (func(pos int) time.Duration, error) {
	sum, err := atoi(sumMS)
	if err != nil {
		return nil, err
	}
	n, err := atoi(count)
	if err != nil {
		return nil, err
	}
	slots, err := atoi(capacity)
	if err != nil {
		return nil, err
	}
	handle := r.cfg.DefaultHandle
	if n > 0 {
		handle = time.Duration(sum/n) * time.Millisecond
	}
	slots = max(slots, 1)
	return func(pos int) time.Duration {
		return handle * time.Duration(pos) / time.Duration(slots)
	}, nil
}
