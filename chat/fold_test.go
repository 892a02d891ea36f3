package chat

import "testing"

func TestFold(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"ŞİFREMİ UNUTTUM!", "sifremi unuttum"},
		{"şifremi   unuttum", "sifremi unuttum"},
		{"  Sifremi unuttum ", "sifremi unuttum"},
		{"IĞDIR'da ÇALIŞIYOR", "igdir da calisiyor"},
		{"Café – résumé", "cafe resume"},
		{"i\u0307stanbul", "istanbul"}, // decomposed İ lower-cased
		{"", ""},
		{"!!!", ""},
	} {
		if got := Fold(tt.in); got != tt.want {
			t.Errorf("Fold(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSameMatter(t *testing.T) {
	for _, tt := range []struct {
		name           string
		sa, ta, sb, tb string
		want           bool
	}{
		{"same subject folded", "Şifremi unuttum", "a", "SIFREMI UNUTTUM", "b", true},
		{"same text folded", "x", "Kartım çalındı, lütfen bloke edin", "y", "kartim calindi lutfen bloke edin", true},
		{"similar text", "", "my withdrawal of 500 TL has not arrived yet since monday", "", "my withdrawal of 500 TL has not arrived since monday", true},
		{"different", "Password reset", "I forgot my password", "Refund", "Please refund my deposit", false},
		{"short texts differ by a word", "", "card blocked", "", "card stolen", false},
		{"empty is never the same", "", "", "", "", false},
	} {
		if got := SameMatter(tt.sa, tt.ta, tt.sb, tt.tb); got != tt.want {
			t.Errorf("%s: SameMatter = %v, want %v", tt.name, got, tt.want)
		}
	}
}
