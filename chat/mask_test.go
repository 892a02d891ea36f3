package chat

import "testing"

func TestMaskCards(t *testing.T) {
	tests := []struct{ in, want string }{
		{"my card 4111111111111111 thanks", "my card ************1111 thanks"},
		{"4111 1111 1111 1111", "**** **** **** 1111"},
		{"5500-0000-0000-0004", "****-****-****-0004"},
		{"order 4111111111111112", "order 4111111111111112"}, // fails Luhn
		{"call 0212 555 44 33", "call 0212 555 44 33"},       // too short
		{"id 12345678901234567890123", "id 12345678901234567890123"},
		{"kart numaram 378282246310005 idi", "kart numaram ***********0005 idi"}, // Amex, 15 digits
		{"4111111111111111 5500000000000004", "************1111 ************0004"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := MaskCards(tt.in); got != tt.want {
			t.Errorf("MaskCards(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzMaskCards(f *testing.F) {
	for _, s := range []string{"4111 1111 1111 1111", "x", "1-2-3", "4111111111111111 4111111111111111"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := MaskCards(s)
		if len(got) != len(s) {
			t.Fatalf("length changed: %q -> %q", s, got)
		}
	})
}

func BenchmarkMaskCards(b *testing.B) {
	text := "my card is 4111 1111 1111 1111 and order 123456 placed on 2026-11-23"
	b.ReportAllocs()
	for b.Loop() {
		MaskCards(text)
	}
}
