package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/store"
	"github.com/chatd/chatd/store/storetest"
)

func newVisitor(t *testing.T, db *store.DB, email string) *chat.Visitor {
	t.Helper()
	v := &chat.Visitor{Email: email}
	if err := db.CreateVisitor(context.Background(), v); err != nil {
		t.Fatal(err)
	}
	return v
}

func request(t *testing.T, db *store.DB, v *chat.Visitor, email, unit, subject, text string) (*chat.Ticket, bool) {
	t.Helper()
	n := store.NewTicket{Unit: unit, Subject: subject, Text: text, Email: email}
	if v != nil {
		n.VisitorID = v.ID
		n.By = chat.Sender{Kind: chat.FromVisitor, ID: v.ID}
	} else {
		n.By = chat.Sender{Kind: chat.FromSystem, ID: "key"}
	}
	n.Author = chat.Sender{Kind: chat.FromVisitor, ID: n.VisitorID, Name: email}
	tk, merged, err := db.CreateTicket(context.Background(), n)
	if err != nil {
		t.Fatal(err)
	}
	return tk, merged
}

// TestMergeRules: a repeated request of the same requester, unit and
// matter (Turkish folding, or clearly similar words) joins the open
// ticket; anything else opens a new one.
func TestMergeRules(t *testing.T) {
	ctx := context.Background()
	db := storetest.DB(t)
	ayse := newVisitor(t, db, "")
	first, merged := request(t, db, ayse, "ayse@example.com", "account", "Şifremi unuttum", "Giriş yapamıyorum, şifremi unuttum.")
	if merged || first.Status != chat.TicketOpen {
		t.Fatalf("first request: %+v merged %v", first, merged)
	}
	steps := []struct {
		name           string
		who            *chat.Visitor
		email, unit    string
		subject, text  string
		wantMergedInto bool
	}{
		{"same subject, other case and accents", ayse, "", "account", "SIFREMI UNUTTUM", "başka bir metin", true},
		{"same text, other subject", ayse, "", "account", "Yardım", "giris yapamiyorum sifremi unuttum", true},
		{"same requester by email from another device", nil, "ayse@example.com", "account", "şifremi unuttum!", "x", true},
		{"same matter, another unit", ayse, "", "financial", "Şifremi unuttum", "Giriş yapamıyorum, şifremi unuttum.", false},
		{"another matter", ayse, "", "account", "Hesabım kilitlendi", "Üç kez yanlış girdim", false},
	}
	for _, s := range steps {
		tk, merged := request(t, db, s.who, s.email, s.unit, s.subject, s.text)
		if merged != s.wantMergedInto || (merged && tk.ID != first.ID) || (!merged && tk.ID == first.ID) {
			t.Errorf("%s: ticket %s merged %v; want merged into %s: %v", s.name, tk.ID, merged, first.ID, s.wantMergedInto)
		}
	}
	entries, err := db.TicketEntries(ctx, first.ID, true)
	if err != nil || len(entries) != 4 {
		t.Fatalf("the first ticket holds %d entries (%v), want the request and 3 repeats", len(entries), err)
	}
	for i, e := range entries {
		if e.Seq != int64(i+1) || e.From.Kind != chat.FromVisitor {
			t.Errorf("entry %d: %+v", i, e)
		}
	}
	// A stranger with the same words opens their own ticket.
	other := newVisitor(t, db, "")
	if tk, merged := request(t, db, other, "", "account", "Şifremi unuttum", "Giriş yapamıyorum"); merged || tk.ID == first.ID {
		t.Error("another visitor's request joined someone else's ticket")
	}
	// Once closed, the same request opens a new ticket.
	if _, err := db.ChangeTicket(ctx, store.TicketChange{TicketID: first.ID, Status: chat.TicketClosed, By: chat.Sender{Kind: chat.FromAgent, ID: "a"}}); err != nil {
		t.Fatal(err)
	}
	if tk, merged := request(t, db, ayse, "", "account", "Şifremi unuttum", "tekrar"); merged || tk.ID == first.ID {
		t.Error("a request joined a closed ticket")
	}
}

// TestConcurrentEqualRequestsMakeOneTicket: the same request sent at once
// from many places makes one ticket and the rest join it.
func TestConcurrentEqualRequestsMakeOneTicket(t *testing.T) {
	db := storetest.DB(t)
	v := newVisitor(t, db, "")
	var wg sync.WaitGroup
	ids := make([]string, 8)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tk, _, err := db.CreateTicket(context.Background(), store.NewTicket{Unit: "general", Subject: "Para çekme", Text: "param gelmedi",
				VisitorID: v.ID, By: chat.Sender{Kind: chat.FromVisitor, ID: v.ID}, Author: chat.Sender{Kind: chat.FromVisitor, ID: v.ID}})
			if err != nil {
				t.Error(err)
				return
			}
			ids[i] = tk.ID
		}()
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("equal requests at once made several tickets: %v", ids)
		}
	}
}

func TestTicketMovesAndReplies(t *testing.T) {
	ctx := context.Background()
	db := storetest.DB(t)
	v := newVisitor(t, db, "")
	agent := chat.Sender{Kind: chat.FromAgent, ID: "ece", Name: "Ece"}
	customer := chat.Sender{Kind: chat.FromVisitor, ID: v.ID}
	tk, _ := request(t, db, v, "", "general", "Bonus", "bonusum yüklenmedi")
	move := func(status, want string) {
		t.Helper()
		_, err := db.ChangeTicket(ctx, store.TicketChange{TicketID: tk.ID, Status: status, By: agent})
		if got := code(err); got != want {
			t.Fatalf("move to %s: %v, want %q", status, err, want)
		}
	}
	reply := func(from chat.Sender, kind string, customerReply bool, wantStatus, wantErr string) {
		t.Helper()
		got, _, err := db.AddTicketEntry(ctx, store.TicketWrite{TicketID: tk.ID, Kind: kind, From: from, Text: "yazı", Customer: customerReply})
		if code(err) != wantErr {
			t.Fatalf("reply: %v, want %q", err, wantErr)
		}
		if err == nil && got.Status != wantStatus {
			t.Fatalf("after the reply the ticket is %s, want %s", got.Status, wantStatus)
		}
	}
	reply(agent, chat.EntryReply, false, chat.TicketOpen, "")
	move(chat.TicketPending, "")
	reply(customer, chat.EntryReply, true, chat.TicketOpen, "") // the customer's answer reopens it
	move(chat.TicketSolved, "")
	move(chat.TicketPending, chat.EIllegalState)
	reply(agent, chat.EntryNote, false, chat.TicketSolved, "")  // a note changes nothing
	reply(customer, chat.EntryReply, true, chat.TicketOpen, "") // solved reopens too
	move(chat.TicketClosed, "")
	move(chat.TicketOpen, chat.EIllegalState)
	reply(customer, chat.EntryReply, true, "", chat.EIllegalState)
	reply(agent, chat.EntryReply, false, "", chat.EIllegalState)

	got, err := db.Ticket(ctx, tk.ID)
	if err != nil || got.FirstReplyAt == nil || got.Status != chat.TicketClosed {
		t.Fatalf("ticket %+v %v", got, err)
	}
	public, _ := db.TicketEntries(ctx, tk.ID, false)
	all, _ := db.TicketEntries(ctx, tk.ID, true)
	if len(public) != 4 || len(all) != 5 {
		t.Errorf("entries: %d public, %d in all; want 4 and 5 (one note)", len(public), len(all))
	}
	events, _ := db.TicketEvents(ctx, tk.ID, true)
	var moves []string
	for _, e := range events {
		if e.Kind == chat.EventStatus {
			moves = append(moves, e.From+">"+e.To)
		}
	}
	want := fmt.Sprint([]string{"open>pending", "pending>open", "open>solved", "solved>open", "open>closed"})
	if fmt.Sprint(moves) != want {
		t.Errorf("timeline moves %v, want %s", moves, want)
	}
	if events[0].Kind != chat.EventCreated {
		t.Errorf("the timeline starts with %q", events[0].Kind)
	}
}

func TestMergeTwoTickets(t *testing.T) {
	ctx := context.Background()
	db := storetest.DB(t)
	a, b := newVisitor(t, db, ""), newVisitor(t, db, "")
	src, _ := request(t, db, a, "", "technical", "Uygulama açılmıyor", "iOS uygulaması açılmıyor")
	dst, _ := request(t, db, b, "", "technical", "App crashes", "the app crashes at start")
	by := chat.Sender{Kind: chat.FromAgent, ID: "tom"}
	s, d, err := db.MergeTickets(ctx, store.TicketMerge{SourceID: src.ID, TargetID: dst.ID, By: by})
	if err != nil || s.Status != chat.TicketClosed || s.MergedInto != dst.ID || d.ID != dst.ID {
		t.Fatalf("merge: %+v %+v %v", s, d, err)
	}
	entries, _ := db.TicketEntries(ctx, dst.ID, false)
	if len(entries) != 2 || entries[1].From.ID != a.ID {
		t.Fatalf("target entries %+v", entries)
	}
	if _, _, err := db.MergeTickets(ctx, store.TicketMerge{SourceID: src.ID, TargetID: dst.ID, By: by}); code(err) != chat.EIllegalState {
		t.Errorf("merging a closed ticket again: %v", err)
	}
	hist, _, err := db.VisitorHistory(ctx, a.ID, nil, "", 10)
	if err != nil || len(hist) != 1 || hist[0].MergedInto != dst.ID {
		t.Errorf("the source requester's history does not say where it went: %+v %v", hist, err)
	}
}

// TestTicketPagesUnderConcurrentInserts: paging a unit's open tickets
// while others are added shows every earlier ticket exactly once, oldest
// first.
func TestTicketPagesUnderConcurrentInserts(t *testing.T) {
	ctx := context.Background()
	db := storetest.DB(t)
	v := newVisitor(t, db, "")
	var before []string
	for i := range 60 {
		tk, _ := request(t, db, nil, fmt.Sprintf("c%d@example.com", i), "general", fmt.Sprintf("request %d", i), "text")
		before = append(before, tk.ID)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, _, err := db.CreateTicket(ctx, store.NewTicket{Unit: "general", Subject: fmt.Sprintf("late %d", i), Text: "t", VisitorID: v.ID,
				By: chat.Sender{Kind: chat.FromVisitor, ID: v.ID}, Author: chat.Sender{Kind: chat.FromVisitor, ID: v.ID}}); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	seen := map[string]int{}
	var order []*chat.Ticket
	cur := ""
	for pages := 0; pages < 1000; pages++ {
		items, next, err := db.Tickets(ctx, store.TicketFilter{Units: []string{"general"}, Status: chat.TicketOpen, Cursor: cur, Limit: 7})
		if err != nil {
			t.Fatal(err)
		}
		for _, tk := range items {
			seen[tk.ID]++
			order = append(order, tk)
		}
		if next == "" || len(seen) > 200 {
			break
		}
		cur = next
		time.Sleep(time.Millisecond)
	}
	close(stop)
	wg.Wait()
	for _, id := range before {
		if seen[id] != 1 {
			t.Errorf("ticket %s seen %d times", id, seen[id])
		}
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("ticket %s seen %d times", id, n)
		}
	}
	for i := 1; i < len(order); i++ {
		a, b := order[i-1], order[i]
		if a.CreatedAt.After(b.CreatedAt) || (a.CreatedAt.Equal(b.CreatedAt) && a.ID > b.ID) {
			t.Fatalf("not oldest first at %d", i)
		}
	}
	if _, _, err := db.Tickets(ctx, store.TicketFilter{Cursor: "1' OR 1=1 --", Limit: 5}); code(err) != chat.EInvalid {
		t.Errorf("an injection-shaped cursor: %v", err)
	}
}

func TestAutoClose(t *testing.T) {
	ctx := context.Background()
	db := storetest.DB(t)
	v := newVisitor(t, db, "")
	tk, _ := request(t, db, v, "", "general", "x", "y")
	keep, _ := request(t, db, v, "", "general", "another thing", "z")
	for _, id := range []string{tk.ID, keep.ID} {
		if _, err := db.ChangeTicket(ctx, store.TicketChange{TicketID: id, Status: chat.TicketSolved, By: chat.Sender{Kind: chat.FromAgent, ID: "a"}}); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(5 * time.Millisecond)
	cut := time.Now()
	if n, err := db.AutoCloseTickets(ctx, cut.Add(-time.Hour), 10); err != nil || n != 0 {
		t.Fatalf("nothing is old enough: %d %v", n, err)
	}
	if n, err := db.AutoCloseTickets(ctx, cut, 1); err != nil || n != 1 {
		t.Fatalf("auto-close: %d %v", n, err)
	}
	if n, err := db.AutoCloseTickets(ctx, cut, 10); err != nil || n != 1 {
		t.Fatalf("auto-close the rest: %d %v", n, err)
	}
	for _, id := range []string{tk.ID, keep.ID} {
		if got, _ := db.Ticket(ctx, id); got.Status != chat.TicketClosed {
			t.Errorf("%s is %s", id, got.Status)
		}
	}
}

// TestOutbox: every change writes its deliveries in its own transaction,
// claims never hand one delivery to two workers, and closed chats become
// chat.closed events once.
func TestOutbox(t *testing.T) {
	ctx := context.Background()
	db := storetest.DB(t)
	hook, err := db.CreateWebhook(ctx, "https://example.com/hook", []string{"ticket.created", "ticket.replied", "chat.closed"})
	if err != nil || hook.Secret == "" {
		t.Fatal(hook, err)
	}
	v := newVisitor(t, db, "")
	tk, _ := request(t, db, v, "", "general", "x", "y")
	if _, _, err := db.AddTicketEntry(ctx, store.TicketWrite{TicketID: tk.ID, Kind: chat.EntryNote, From: chat.Sender{Kind: chat.FromAgent, ID: "a"}, Text: "internal"}); err != nil {
		t.Fatal(err)
	}
	// A refused change writes nothing.
	if _, _, err := db.AddTicketEntry(ctx, store.TicketWrite{TicketID: tk.ID, Kind: chat.EntryReply, Text: "no",
		Check: func(*chat.Ticket) error { return chat.Errorf(chat.ENotFound, "no") }}); code(err) != chat.ENotFound {
		t.Fatal(err)
	}
	if _, _, err := db.AddTicketEntry(ctx, store.TicketWrite{TicketID: tk.ID, Kind: chat.EntryReply, From: chat.Sender{Kind: chat.FromAgent, ID: "a"}, Text: "answer"}); err != nil {
		t.Fatal(err)
	}
	_, c := newChat(t, db)
	if _, o, err := db.Transit(ctx, chat.Transition{ChatID: c.ID, From: chat.OpenStates, To: chat.StatusClosed, Reason: "agent_closed"}); err != nil || o != chat.Applied {
		t.Fatal(o, err)
	}
	for range 2 {
		if _, err := db.EmitClosedChats(ctx, 10); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	claimed := map[string]int{}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ds, err := db.ClaimDeliveries(ctx, 10, time.Minute)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for _, d := range ds {
				claimed[d.ID]++
				var body struct {
					ID, Event string
				}
				if err := json.Unmarshal([]byte(d.Body), &body); err != nil || body.ID != d.ID || body.Event != d.Event || d.Secret != hook.Secret {
					t.Errorf("delivery %+v body %s", d, d.Body)
				}
				claimed[d.Event]++
			}
		}()
	}
	wg.Wait()
	if claimed["ticket.created"] != 1 || claimed["ticket.replied"] != 1 || claimed["chat.closed"] != 1 || len(claimed) != 6 {
		t.Fatalf("claimed %v: want one each of ticket.created, ticket.replied, chat.closed, each claimed once", claimed)
	}
	if ds, err := db.ClaimDeliveries(ctx, 10, time.Minute); err != nil || len(ds) != 0 {
		t.Errorf("leased deliveries claimed again: %d %v", len(ds), err)
	}
	// The log forgets finished deliveries past the cutoff, never pending ones.
	log, _, _ := db.Deliveries(ctx, hook.ID, "", 10)
	if err := db.DeliveryResult(ctx, log[0].ID, true, 200, "", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if n, err := db.ForgetDeliveries(ctx, time.Now().Add(time.Minute), time.Now()); err != nil || n != 1 {
		t.Fatalf("forgot %d, %v; want the delivered one", n, err)
	}
	if left, _, _ := db.Deliveries(ctx, hook.ID, "", 10); len(left) != 2 {
		t.Errorf("%d deliveries left, want the 2 pending", len(left))
	}
}

func code(err error) string {
	if err == nil {
		return ""
	}
	return chat.ErrorCode(err)
}

// TestEscalateJoinsOpenTicket: a chat escalated while its visitor has an
// open ticket of the unit on the same matter adds its transcript to that
// ticket; another matter opens a new one.
func TestEscalateJoinsOpenTicket(t *testing.T) {
	ctx := context.Background()
	db := storetest.DB(t)
	v, c := newChat(t, db) // first message "hello", unit general
	agent := activate(t, db, c)
	open, _ := request(t, db, v, "", "general", "Hello", "an earlier request")
	if _, err := db.ChangeTicket(ctx, store.TicketChange{TicketID: open.ID, Status: chat.TicketPending, By: chat.Sender{Kind: chat.FromAgent, ID: agent.ID}}); err != nil {
		t.Fatal(err)
	}
	render := func(*chat.Chat, []chat.Message) (string, string) { return "HELLO", "the transcript" }
	done, outcome, err := db.Escalate(ctx, chat.Escalation{Who: chat.Principal{Agent: agent}, ChatID: c.ID, By: chat.Sender{Kind: chat.FromAgent, ID: agent.ID}}, render)
	if err != nil || outcome != chat.Applied || done.TicketID != open.ID {
		t.Fatalf("escalate: %+v %v %v; want it in ticket %s", done, outcome, err, open.ID)
	}
	got, _ := db.Ticket(ctx, open.ID)
	entries, _ := db.TicketEntries(ctx, open.ID, false)
	if got.Status != chat.TicketOpen || len(entries) != 2 || entries[1].Text != "the transcript" {
		t.Fatalf("the open ticket: %+v %+v", got, entries)
	}
	// A chat on another matter opens its own ticket.
	c2, _, err := db.StartChat(ctx, chat.StartRequest{Who: chat.Principal{VisitorID: v.ID}, ClientID: "c2", Visitor: v, Unit: "general", Text: "my deposit is missing"})
	if err != nil {
		t.Fatal(err)
	}
	done, _, err = db.Escalate(ctx, chat.Escalation{Who: chat.Principal{Agent: agent}, ChatID: c2.ID, By: chat.Sender{Kind: chat.FromAgent, ID: agent.ID}},
		func(*chat.Chat, []chat.Message) (string, string) { return "my deposit is missing", "t" })
	if err != nil || done.TicketID == open.ID || done.TicketID == "" {
		t.Fatalf("another matter: %+v %v", done, err)
	}
}

// TestDeliveryLease: a delivery claimed by a node that never reports back
// (it died mid-attempt) is claimed again once its lease runs out, with
// the same id.
func TestDeliveryLease(t *testing.T) {
	ctx := context.Background()
	db := storetest.DB(t)
	if _, err := db.CreateWebhook(ctx, "https://example.com/h", []string{"ticket.created"}); err != nil {
		t.Fatal(err)
	}
	request(t, db, nil, "a@example.com", "general", "s", "t")
	first, err := db.ClaimDeliveries(ctx, 10, 100*time.Millisecond)
	if err != nil || len(first) != 1 {
		t.Fatalf("claim: %d %v", len(first), err)
	}
	if again, _ := db.ClaimDeliveries(ctx, 10, time.Minute); len(again) != 0 {
		t.Fatal("a leased delivery was claimed again before its lease ran out")
	}
	time.Sleep(150 * time.Millisecond)
	again, err := db.ClaimDeliveries(ctx, 10, time.Minute)
	if err != nil || len(again) != 1 || again[0].ID != first[0].ID || again[0].Attempts != 2 {
		t.Fatalf("after the lease: %+v %v", again, err)
	}
}

// TestMergeIgnoresEmailCase: an email is one requester whatever its case
// and surrounding spaces, for the merge rule and the email filter alike.
func TestMergeIgnoresEmailCase(t *testing.T) {
	ctx := context.Background()
	db := storetest.DB(t)
	first, merged := request(t, db, nil, " Can@Example.com", "technical", "Uygulama açılmıyor", "Uygulama açılışta kapanıyor.")
	if merged || first.Email != "can@example.com" {
		t.Fatalf("first request: email %q merged %v; want can@example.com stored", first.Email, merged)
	}
	again, merged := request(t, db, nil, "can@example.com", "technical", "uygulama acilmiyor", "hala kapanıyor")
	if !merged || again.ID != first.ID {
		t.Fatalf("the same requester in lower case opened %s (merged %v), want it merged into %s", again.ID, merged, first.ID)
	}
	for _, q := range []string{"CAN@EXAMPLE.COM", " can@example.com ", "Can@Example.com"} {
		items, _, err := db.Tickets(ctx, store.TicketFilter{Email: q, Limit: 10})
		if err != nil || len(items) != 1 || items[0].ID != first.ID {
			t.Errorf("email filter %q: %d items, %v; want the one ticket", q, len(items), err)
		}
	}
}

// TestTicketQueuePlace: a unit's open tickets stand in the order staff
// work them, a ticket the customer reopened after a reply among them; the
// expected first reply is the recent time between first replies times the
// place, and none from fewer than two figures.
func TestTicketQueuePlace(t *testing.T) {
	ctx := context.Background()
	db := storetest.DB(t)
	var open []*chat.Ticket
	for i := range 3 {
		tk, _ := request(t, db, nil, fmt.Sprintf("q%d@example.com", i), "financial", fmt.Sprintf("konu %d", i), fmt.Sprintf("metin %d", i))
		open = append(open, tk)
		time.Sleep(2 * time.Millisecond)
	}
	place := func(tk *chat.Ticket) store.QueuePlace {
		t.Helper()
		tk, err := db.Ticket(ctx, tk.ID)
		if err != nil {
			t.Fatal(err)
		}
		p, err := db.TicketQueuePlace(ctx, tk)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	for i, tk := range open {
		if p := place(tk); p.Position != i+1 || p.ExpectedFirstReply != 0 {
			t.Fatalf("ticket %d: %+v; want position %d, no figure", i, p, i+1)
		}
	}
	// The first is answered, set pending, and reopened by its customer: it
	// is open again, in the staff queue and in its old place.
	staff := chat.Sender{Kind: chat.FromAgent, ID: "a", Name: "Ece"}
	if _, _, err := db.AddTicketEntry(ctx, store.TicketWrite{TicketID: open[0].ID, Kind: chat.EntryReply, From: staff, Text: "belge gönderin"}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ChangeTicket(ctx, store.TicketChange{TicketID: open[0].ID, By: staff, Status: chat.TicketPending}); err != nil {
		t.Fatal(err)
	}
	if p := place(open[1]); p.Position != 1 {
		t.Fatalf("with the first pending the second is at %d, want 1", p.Position)
	}
	if _, _, err := db.AddTicketEntry(ctx, store.TicketWrite{TicketID: open[0].ID, Kind: chat.EntryReply, Customer: true,
		From: chat.Sender{Kind: chat.FromVisitor, Name: "q0"}, Text: "gönderdim"}); err != nil {
		t.Fatal(err)
	}
	listed, _, err := db.Tickets(ctx, store.TicketFilter{Units: []string{"financial"}, Status: chat.TicketOpen, Limit: 10})
	if err != nil || len(listed) != 3 {
		t.Fatalf("staff queue: %d tickets, %v", len(listed), err)
	}
	for i, tk := range listed {
		if p := place(tk); p.Position != i+1 || tk.ID != open[i].ID {
			t.Errorf("staff queue item %d (%s) has place %d", i+1, tk.ID, p.Position)
		}
	}
	// One first reply (the one just given) is no figure.
	if p := place(open[1]); p.ExpectedFirstReply != 0 {
		t.Errorf("one first reply gives an expected wait of %v, want none", p.ExpectedFirstReply)
	}
	// Two more answered tickets of the unit, first replies 30 and 20
	// minutes ago: three first replies over 30 minutes, one every 15.
	for _, ago := range []time.Duration{30 * time.Minute, 20 * time.Minute} {
		tk, _ := request(t, db, nil, "other@example.com", "financial", "başka "+ago.String(), "x "+ago.String())
		if _, err := db.ChangeTicket(ctx, store.TicketChange{TicketID: tk.ID, By: staff, Status: chat.TicketSolved}); err != nil {
			t.Fatal(err)
		}
		if err := db.SetFirstReply(ctx, tk.ID, time.Now().Add(-ago)); err != nil {
			t.Fatal(err)
		}
	}
	for i, tk := range open {
		p := place(tk)
		want := time.Duration(i+1) * 15 * time.Minute
		if p.Position != i+1 || p.ExpectedFirstReply < want-time.Second || p.ExpectedFirstReply > want+time.Second {
			t.Errorf("ticket %d: %+v; want position %d, about %v", i, p, i+1, want)
		}
	}
}

// TestRepeatReopensWithUpdatedEvent: a repeated request that opens a
// pending ticket again is a status move like any other: besides
// ticket.merged it writes ticket.updated (pending -> open) to the outbox.
func TestRepeatReopensWithUpdatedEvent(t *testing.T) {
	ctx := context.Background()
	db := storetest.DB(t)
	if _, err := db.CreateWebhook(ctx, "https://example.com/hook", []string{"ticket.updated", "ticket.merged"}); err != nil {
		t.Fatal(err)
	}
	v := newVisitor(t, db, "")
	tk, _ := request(t, db, v, "", "general", "Bonus yüklenmedi", "bonusum gelmedi")
	if _, err := db.ChangeTicket(ctx, store.TicketChange{TicketID: tk.ID, By: chat.Sender{Kind: chat.FromAgent, ID: "a"}, Status: chat.TicketPending}); err != nil {
		t.Fatal(err)
	}
	if again, merged := request(t, db, v, "", "general", "bonus yuklenmedi", "hâlâ gelmedi"); !merged || again.ID != tk.ID || again.Status != chat.TicketOpen {
		t.Fatalf("repeat: %+v merged %v", again, merged)
	}
	ds, err := db.ClaimDeliveries(ctx, 10, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var moves []string
	merges := 0
	for _, d := range ds {
		var body struct {
			Data struct {
				Ticket struct{ Status string }
				Change *struct{ From, To string }
			}
		}
		if err := json.Unmarshal([]byte(d.Body), &body); err != nil {
			t.Fatal(err)
		}
		switch d.Event {
		case "ticket.updated":
			if body.Data.Change == nil {
				t.Fatalf("ticket.updated without its change: %s", d.Body)
			}
			moves = append(moves, body.Data.Change.From+">"+body.Data.Change.To+" "+body.Data.Ticket.Status)
		case "ticket.merged":
			merges++
		}
	}
	sort.Strings(moves)
	if merges != 1 || len(moves) != 2 || moves[0] != "open>pending pending" || moves[1] != "pending>open open" {
		t.Fatalf("outbox: %d ticket.merged, ticket.updated moves %v; want 1 and [open>pending pending, pending>open open]", merges, moves)
	}
}

// TestRedeliverWhileLeased: a delivery a node is sending (leased) is not
// put back for another node to send at the same time: 409; once the
// attempt is recorded it is, due now with a fresh retry window.
func TestRedeliverWhileLeased(t *testing.T) {
	ctx := context.Background()
	db := storetest.DB(t)
	hook, err := db.CreateWebhook(ctx, "https://example.com/hook", []string{"ticket.created"})
	if err != nil {
		t.Fatal(err)
	}
	request(t, db, nil, "l@example.com", "general", "x", "y")
	ds, err := db.ClaimDeliveries(ctx, 10, time.Minute)
	if err != nil || len(ds) != 1 {
		t.Fatalf("claim: %d %v", len(ds), err)
	}
	d := ds[0]
	if _, err := db.Redeliver(ctx, hook.ID, d.ID); code(err) != chat.EConflict {
		t.Fatalf("redeliver while leased: %v, want conflict", err)
	}
	if again, _ := db.ClaimDeliveries(ctx, 10, time.Minute); len(again) != 0 {
		t.Fatal("a leased delivery was claimed again")
	}
	if err := db.DeliveryResult(ctx, d.ID, false, 500, "HTTP 500", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	before := time.Now().Add(-time.Millisecond)
	re, err := db.Redeliver(ctx, hook.ID, d.ID)
	if err != nil || re.Status != chat.DeliveryPending || re.Attempts != 0 || re.RetryFrom.Before(before.Truncate(time.Millisecond)) || !re.RetryFrom.After(re.CreatedAt) {
		t.Fatalf("redeliver after the attempt: %+v %v; want pending, attempts 0, retries counted from now", re, err)
	}
	if ds, err := db.ClaimDeliveries(ctx, 10, time.Minute); err != nil || len(ds) != 1 || ds[0].ID != d.ID {
		t.Fatalf("the redelivery is not due: %d %v", len(ds), err)
	}
	if _, err := db.Redeliver(ctx, hook.ID, "no-such-id"); code(err) != chat.ENotFound {
		t.Fatalf("redeliver an unknown delivery: %v", err)
	}
}

// TestAPIKeyActionsMigrated: ticket replies and events an API key wrote
// before schema 0007 (kind system, the key's id) read as kind apikey after
// it; the server's own (autoclose) stay system.
func TestAPIKeyActionsMigrated(t *testing.T) {
	ctx := context.Background()
	db := storetest.DB(t)
	keyID, _, err := db.CreateAPIKey(ctx, "crm")
	if err != nil {
		t.Fatal(err)
	}
	old := chat.Sender{Kind: chat.FromSystem, ID: keyID, Name: "crm"}
	tk, _, err := db.CreateTicket(ctx, store.NewTicket{Unit: "general", Subject: "s", Text: "t", Email: "can@example.com", By: old,
		Author: chat.Sender{Kind: chat.FromVisitor, Name: "can@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.AddTicketEntry(ctx, store.TicketWrite{TicketID: tk.ID, Kind: chat.EntryReply, From: old, Text: "looking"}); err != nil {
		t.Fatal(err)
	}
	if err := db.ExecForTest(ctx, "INSERT INTO ticket_events (id, ticket_id, at, by_kind, by_id, by_name, kind) VALUES ('e-auto', ?, 1, 'system', 'autoclose', 'chatd', 'status')", tk.ID); err != nil {
		t.Fatal(err)
	}
	if err := db.ExecForTest(ctx, "DELETE FROM schema_migrations WHERE version = 7"); err != nil {
		t.Fatal(err)
	}
	if n, err := db.Migrate(ctx); err != nil || n != 1 {
		t.Fatalf("migrate: %d %v", n, err)
	}
	entries, err := db.TicketEntries(ctx, tk.ID, true)
	if err != nil || len(entries) != 2 || entries[1].From != (chat.Sender{Kind: chat.FromAPIKey, ID: keyID, Name: "crm"}) || entries[0].From.Kind != chat.FromVisitor {
		t.Fatalf("entries %+v %v", entries, err)
	}
	events, err := db.TicketEvents(ctx, tk.ID, true)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, e := range events {
		kinds[e.By.Kind+" "+e.By.ID]++
	}
	if kinds["apikey "+keyID] != 2 || kinds["system autoclose"] != 1 || kinds["system "+keyID] != 0 {
		t.Fatalf("events by %v", kinds)
	}
}
