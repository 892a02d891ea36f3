package live

import (
	"net/http"
	"slices"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/chat/access"
)

// boardChat is one chat an agent holds, as the board shows it.
type boardChat struct {
	ChatID      string    `json:"chat_id"`
	Unit        string    `json:"unit"`
	VisitorID   string    `json:"visitor_id"`
	VisitorName string    `json:"visitor_name"`
	Priority    int       `json:"priority"`
	Since       time.Time `json:"since"` // assigned to this agent (created, when unknown)
}

type boardAgent struct {
	ID     string      `json:"id"`
	Name   string      `json:"name"`
	Status string      `json:"status"` // online, away or offline (no live connection)
	Load   int         `json:"load"`
	Max    int         `json:"max"`
	Chats  []boardChat `json:"chats"`
}

type boardQueue struct {
	Length     int         `json:"length"`
	OldestWait int         `json:"oldest_wait_seconds"`
	OldestAt   *time.Time  `json:"oldest_since"`
	Chats      []queueItem `json:"chats"`
}

type boardUnit struct {
	Unit   string       `json:"unit"`
	Agents []boardAgent `json:"agents"`
	Queue  boardQueue   `json:"queue"`
}

// boardRoute serves GET /api/v1/board: for each unit a supervisor serves
// (admins: every unit), its agents with status, load, capacity and the
// chats of the unit they hold, and its queue with length and oldest wait.
// Loads and statuses are the assigner's live state, so they are right
// whenever the agents came online.
func (s *Service) boardRoute(c echo.Context) error {
	ctx := c.Request().Context()
	who, err := access.Require(ctx, access.ReadBoard)
	if err != nil {
		return err
	}
	now := time.Now()
	held := map[string][]*chat.Chat{} // agent id -> active chats, read once
	names := map[string]string{}      // visitor id -> name
	out := []boardUnit{}
	for _, unit := range access.BoardUnits(who, s.cfg.Units) {
		bu := boardUnit{Unit: unit, Agents: []boardAgent{}}
		loads, err := s.assign.Agents(ctx, unit)
		if err != nil {
			return err
		}
		for _, l := range loads {
			chats, ok := held[l.ID]
			if !ok {
				if chats, err = s.store.AgentChats(ctx, l.ID); err != nil {
					return err
				}
				held[l.ID] = chats
			}
			ba := boardAgent{ID: l.ID, Name: l.Name, Status: l.Status, Load: l.Load, Max: l.Max, Chats: []boardChat{}}
			for _, ch := range chats {
				if ch.Unit != unit {
					continue
				}
				name, ok := names[ch.VisitorID]
				if !ok {
					if v, err := s.store.Visitor(ctx, ch.VisitorID); err == nil {
						name = v.Name
					}
					names[ch.VisitorID] = name
				}
				since := ch.CreatedAt
				if ch.AssignedAt != nil {
					since = *ch.AssignedAt
				}
				ba.Chats = append(ba.Chats, boardChat{ChatID: ch.ID, Unit: ch.Unit, VisitorID: ch.VisitorID, VisitorName: name, Priority: ch.Priority, Since: since})
			}
			bu.Agents = append(bu.Agents, ba)
		}
		q, err := s.assign.Queue(ctx, unit)
		if err != nil {
			return err
		}
		bu.Queue = boardQueue{Length: len(q), Chats: make([]queueItem, 0, len(q))}
		for _, w := range q {
			bu.Queue.Chats = append(bu.Queue.Chats, queueItem{ChatID: w.ChatID, Position: w.Position, ETASeconds: etaSeconds(w.ETA), Priority: w.Priority, Since: w.Since})
			if bu.Queue.OldestAt == nil || w.Since.Before(*bu.Queue.OldestAt) {
				at := w.Since
				bu.Queue.OldestAt = &at
			}
		}
		if bu.Queue.OldestAt != nil {
			bu.Queue.OldestWait = max(0, int(now.Sub(*bu.Queue.OldestAt)/time.Second))
		}
		out = append(out, bu)
	}
	return c.JSON(http.StatusOK, map[string]any{"units": out, "at": now.UTC()})
}

// unitAgentsRoute serves GET /api/v1/units/{unit}/agents: the unit's
// agents who are online, with load and capacity, for staff picking the
// agent to transfer a chat to.
func (s *Service) unitAgentsRoute(c echo.Context) error {
	ctx := c.Request().Context()
	if _, err := access.Require(ctx, access.ListUnitAgents); err != nil {
		return err
	}
	unit := c.Param("unit")
	if !slices.Contains(s.cfg.Units, unit) {
		return chat.Errorf(chat.EUnknownUnit, "unknown unit %q", unit)
	}
	loads, err := s.assign.Agents(ctx, unit)
	if err != nil {
		return err
	}
	type agent struct {
		ID     string `json:"id"`
		Name   string `json:"name"`
		Status string `json:"status"`
		Load   int    `json:"load"`
		Max    int    `json:"max"`
	}
	out := []agent{}
	for _, l := range loads {
		if l.Status == "online" {
			out = append(out, agent{l.ID, l.Name, l.Status, l.Load, l.Max})
		}
	}
	return c.JSON(http.StatusOK, map[string]any{"unit": unit, "agents": out})
}
