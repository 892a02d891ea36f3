package main

import (
	"slices"
	"testing"
	"time"
)

type boardBody struct {
	Units []struct {
		Unit   string `json:"unit"`
		Agents []struct {
			ID     string `json:"id"`
			Name   string `json:"name"`
			Status string `json:"status"`
			Load   int    `json:"load"`
			Max    int    `json:"max"`
			Chats  []struct {
				ChatID      string    `json:"chat_id"`
				VisitorName string    `json:"visitor_name"`
				Since       time.Time `json:"since"`
			} `json:"chats"`
		} `json:"agents"`
		Queue struct {
			Length     int        `json:"length"`
			OldestWait int        `json:"oldest_wait_seconds"`
			OldestAt   *time.Time `json:"oldest_since"`
			Chats      []struct {
				ChatID string    `json:"chat_id"`
				Since  time.Time `json:"since"`
			} `json:"chats"`
		} `json:"queue"`
	} `json:"units"`
}

// TestBoard: a supervisor's board shows each agent of their units with the
// status they have (also those online before the supervisor looked), a
// load equal to the chats they hold and those chats, and each queue with
// its length and oldest wait; a supervisor sees only their units, agents
// may not read it, and anyone staff may list a unit's online agents.
func TestBoard(t *testing.T) {
	t.Parallel()
	n := startNode(t, clusterVars(t))
	ada := createStaff(t, n, "Ada", "agent", []string{"general"}, 3)
	bo := createStaff(t, n, "Bo", "agent", []string{"general"}, 3)
	cy := createStaff(t, n, "Cy", "agent", []string{"general"}, 2)
	dee := createStaff(t, n, "Dee", "agent", []string{"technical"}, 1)

	start := func(unit, name, text string) string {
		v, _ := newVisitor(t, n)
		ack := v.call(map[string]any{"type": "chat.start", "unit": unit, "text": text, "age_confirmed": true, "name": name})
		return ack.str("chat_id")
	}
	// Ada alone takes two chats, then Bo (the lowest load) one; Cy none.
	adaWS, _ := dialStaff(t, n, ada, true)
	c1 := start("general", "Vera", "one")
	adaWS.expect("chat.assigned", forChat(c1))
	c2 := start("general", "Wim", "two")
	adaWS.expect("chat.assigned", forChat(c2))
	boWS, _ := dialStaff(t, n, bo, true)
	c3 := start("general", "Xan", "three")
	boWS.expect("chat.assigned", forChat(c3))
	cyWS, _ := dialStaff(t, n, cy, false)
	cyWS.call(map[string]any{"type": "presence", "status": "away"})
	// Dee holds one chat; two more wait in technical's queue.
	deeWS, _ := dialStaff(t, n, dee, true)
	d1 := start("technical", "Yu", "four")
	deeWS.expect("chat.assigned", forChat(d1))
	before := time.Now().Add(-time.Second)
	q1 := start("technical", "Zed", "five")
	start("technical", "Zoe", "six")

	sup := createStaff(t, n, "Sue", "supervisor", []string{"general", "technical"}, 1)
	var b boardBody
	if code := api(t, "GET", n.url+"/api/v1/board", sup.token, nil, &b); code != 200 {
		t.Fatalf("board: %d", code)
	}
	units := []string{}
	for _, u := range b.Units {
		units = append(units, u.Unit)
	}
	if !slices.Equal(units, []string{"general", "technical"}) {
		t.Fatalf("units %v", units)
	}
	want := map[string]struct {
		status string
		load   int
		max    int
		chats  []string
		names  []string
	}{
		ada.id: {"online", 2, 3, []string{c1, c2}, []string{"Vera", "Wim"}},
		bo.id:  {"online", 1, 3, []string{c3}, []string{"Xan"}},
		cy.id:  {"away", 0, 2, nil, nil},
		dee.id: {"online", 1, 1, []string{d1}, []string{"Yu"}},
	}
	seen := 0
	for _, u := range b.Units {
		for _, a := range u.Agents {
			w, ok := want[a.ID]
			if !ok {
				continue
			}
			seen++
			var ids, names []string
			for _, c := range a.Chats {
				ids = append(ids, c.ChatID)
				names = append(names, c.VisitorName)
				if c.Since.IsZero() {
					t.Errorf("%s: chat %s without since", a.Name, c.ChatID)
				}
			}
			slices.Sort(ids)
			wantIDs := slices.Clone(w.chats)
			slices.Sort(wantIDs)
			slices.Sort(names)
			if a.Status != w.status || a.Load != w.load || a.Max != w.max || !slices.Equal(ids, wantIDs) || !slices.Equal(names, w.names) {
				t.Errorf("%s on %s: %s %d/%d %v %v, want %+v", a.Name, u.Unit, a.Status, a.Load, a.Max, ids, names, w)
			}
			if a.Load != len(a.Chats) {
				t.Errorf("%s: load %d but holds %d chats", a.Name, a.Load, len(a.Chats))
			}
		}
		switch u.Unit {
		case "general":
			if u.Queue.Length != 0 || u.Queue.OldestAt != nil {
				t.Errorf("general queue %+v", u.Queue)
			}
		case "technical":
			if u.Queue.Length != 2 || len(u.Queue.Chats) != 2 || u.Queue.Chats[0].ChatID != q1 {
				t.Errorf("technical queue %+v", u.Queue)
			} else if u.Queue.OldestAt == nil || u.Queue.OldestAt.Before(before) || !u.Queue.OldestAt.Equal(u.Queue.Chats[0].Since) {
				t.Errorf("technical oldest %v, first since %v, started after %v", u.Queue.OldestAt, u.Queue.Chats[0].Since, before)
			}
		}
	}
	if seen != 4 {
		t.Errorf("saw %d of the 4 agents: %+v", seen, b)
	}
	// The queue frame carries each waiting chat's since too.
	if f := deeWS.expect("queue", func(f frame) bool { return f.str("unit") == "technical" && len(f["chats"].([]any)) == 2 }); f["chats"].([]any)[0].(map[string]any)["since"] == nil {
		t.Errorf("queue frame without since: %v", f)
	}

	// Closing a chat frees Ada's slot; the board follows.
	adaWS.call(map[string]any{"type": "chat.close", "chat_id": c1})
	if !waitUntil(5*time.Second, func() bool {
		var b boardBody
		api(t, "GET", n.url+"/api/v1/board", sup.token, nil, &b)
		for _, a := range b.Units[0].Agents {
			if a.ID == ada.id {
				return a.Load == 1 && len(a.Chats) == 1 && a.Chats[0].ChatID == c2
			}
		}
		return false
	}) {
		t.Error("the board did not follow a closed chat")
	}

	// Scope: a supervisor of another unit sees only theirs; admins every
	// unit; agents and visitors may not read the board.
	sam := createStaff(t, n, "Sam", "supervisor", []string{"account"}, 1)
	var other boardBody
	if code := api(t, "GET", n.url+"/api/v1/board", sam.token, nil, &other); code != 200 || len(other.Units) != 1 || other.Units[0].Unit != "account" || len(other.Units[0].Agents) != 0 {
		t.Errorf("supervisor of account: %d %+v", code, other)
	}
	admin := login(t, n, "admin@example.com", "admin-password")
	var all boardBody
	if code := api(t, "GET", n.url+"/api/v1/board", admin, nil, &all); code != 200 || len(all.Units) != len(n.Cfg.Units) {
		t.Errorf("admin: %d %d units", code, len(all.Units))
	}
	if code := api(t, "GET", n.url+"/api/v1/board", ada.token, nil, nil); code != 403 {
		t.Errorf("agent: %d", code)
	}
	_, vtoken := createVisitor(t, n)
	if code := api(t, "GET", n.url+"/api/v1/board", vtoken, nil, nil); code != 403 {
		t.Errorf("visitor: %d", code)
	}

	// The transfer picker: an agent lists another unit's online agents.
	var ua struct {
		Unit   string `json:"unit"`
		Agents []struct {
			ID   string `json:"id"`
			Load int    `json:"load"`
			Max  int    `json:"max"`
		} `json:"agents"`
	}
	if code := api(t, "GET", n.url+"/api/v1/units/technical/agents", ada.token, nil, &ua); code != 200 || len(ua.Agents) != 1 || ua.Agents[0].ID != dee.id || ua.Agents[0].Load != 1 || ua.Agents[0].Max != 1 {
		t.Errorf("technical's agents: %d %+v", code, ua)
	}
	ua.Agents = nil
	if code := api(t, "GET", n.url+"/api/v1/units/general/agents", dee.token, nil, &ua); code != 200 || len(ua.Agents) != 2 {
		t.Errorf("general's online agents (Cy is away): %d %+v", code, ua)
	}
	if code := api(t, "GET", n.url+"/api/v1/units/nowhere/agents", dee.token, nil, nil); code != 400 {
		t.Errorf("unknown unit: %d", code)
	}
	if code := api(t, "GET", n.url+"/api/v1/units/general/agents", vtoken, nil, nil); code != 403 {
		t.Errorf("visitor: %d", code)
	}
	_ = boWS
}
