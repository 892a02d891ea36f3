package chat

import "testing"

func TestTicketMoves(t *testing.T) {
	for _, tt := range []struct {
		from, to, want string
	}{
		{TicketOpen, TicketPending, ""},
		{TicketOpen, TicketSolved, ""},
		{TicketOpen, TicketClosed, ""},
		{TicketOpen, TicketOpen, EIllegalState},
		{TicketPending, TicketOpen, ""},
		{TicketPending, TicketSolved, ""},
		{TicketSolved, TicketOpen, ""},
		{TicketSolved, TicketClosed, ""},
		{TicketSolved, TicketPending, EIllegalState},
		{TicketClosed, TicketOpen, EIllegalState},
		{TicketClosed, TicketSolved, EIllegalState},
		{TicketOpen, "archived", EInvalid},
	} {
		err := TicketMove(tt.from, tt.to)
		got := ""
		if err != nil {
			got = ErrorCode(err)
		}
		if got != tt.want {
			t.Errorf("%s -> %s: %v, want %q", tt.from, tt.to, err, tt.want)
		}
	}
	for from, want := range map[string]string{TicketOpen: TicketOpen, TicketPending: TicketOpen, TicketSolved: TicketOpen} {
		if got, err := AfterCustomerReply(from); err != nil || got != want {
			t.Errorf("customer reply to %s: %s %v", from, got, err)
		}
	}
	if _, err := AfterCustomerReply(TicketClosed); ErrorCode(err) != EIllegalState {
		t.Errorf("customer reply to a closed ticket: %v", err)
	}
}
