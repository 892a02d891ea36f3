package chat

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

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

func TestMask(t *testing.T) {
	tests := []struct{ name, in, want string }{
		// IBANs: checksum-valid, Turkish and others, grouped or not, any case.
		{"TR IBAN", "IBAN: TR330006100519786457841326", "IBAN: TR********************1326"},
		// A card after a few asterisks is still a card; after a masked card,
		// the kept end is not the start of another one.
		{"card after stars", "**** 4111111111111111", "**** ************1111"},
		{"masked card then digits", "**** **** **** 1111 000000 000", "**** **** **** 1111 000000 000"},
		{"TR IBAN grouped", "TR33 0006 1005 1978 6457 8413 26 lütfen", "TR** **** **** **** **** **13 26 lütfen"},
		{"TR IBAN lower case", "iban tr330006100519786457841326.", "iban tr********************1326."},
		{"DE IBAN", "DE89 3704 0044 0532 0130 00", "DE** **** **** **** **30 00"},
		{"GB IBAN with letters", "GB29NWBK60161331926819", "GB****************6819"},
		{"NL IBAN", "NL91ABNA0417164300", "NL************4300"},
		{"FR IBAN with a letter near the end", "FR1420041010050500013M02606", "FR*********************2606"},
		{"IBAN dashed", "TR33-0006-1005-1978-6457-8413-26", "TR**-****-****-****-****-**13-26"},
		{"IBAN in a sentence, twice", "from TR330006100519786457841326 to DE89370400440532013000", "from TR********************1326 to DE****************3000"},
		{"IBAN with a wrong check digit", "TR340006100519786457841326", "TR340006100519786457841326"},
		{"IBAN one character short", "TR33000610051978645784132", "TR33000610051978645784132"},
		{"IBAN one character long", "TR3300061005197864578413261", "TR3300061005197864578413261"},
		{"IBAN glued to a word", "XTR330006100519786457841326", "XTR330006100519786457841326"},
		{"unknown country", "ZZ330006100519786457841326", "ZZ330006100519786457841326"},
		// Turkish national ids: 11 digits with their two check digits.
		{"national id", "TC kimlik no 10000000146", "TC kimlik no *********46"},
		{"national id glued to letters", "TC10000000146.", "TC*********46."},
		{"national id with a wrong check digit", "10000000147", "10000000147"},
		{"national id starting with 0 (a phone number)", "05321234567", "05321234567"},
		{"twelve digits", "100000001460", "100000001460"},
		{"ten digits", "1000000014", "1000000014"},
		// Everything together, and nothing to mask.
		{"all three", "kart 4111 1111 1111 1111, TC 10000000146, TR330006100519786457841326",
			"kart **** **** **** 1111, TC *********46, TR********************1326"},
		{"plain text", "merhaba, siparişim 12345 nerede?", "merhaba, siparişim 12345 nerede?"},
		{"a date and a phone", "2026-11-23 0212 555 44 33", "2026-11-23 0212 555 44 33"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := (Masking{}).Mask(tt.in); got != tt.want {
				t.Errorf("Mask(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestMaskKeepingNationalIDs(t *testing.T) {
	m := Masking{KeepNationalIDs: true}
	in := "TC 10000000146 kart 4111111111111111 TR330006100519786457841326"
	if got, want := m.Mask(in), "TC 10000000146 kart ************1111 TR********************1326"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	// The process-wide setting is what Mask (and CheckText) use.
	t.Cleanup(func() { SetMasking(Masking{}) })
	SetMasking(m)
	if got := Mask("TC 10000000146"); got != "TC 10000000146" {
		t.Errorf("with national ids kept: %q", got)
	}
	SetMasking(Masking{})
	if got, _ := CheckText("TC 10000000146", 100); got != "TC *********46" {
		t.Errorf("CheckText with the default masking: %q", got)
	}
}

// nationalIDFor makes a valid national id from its first nine digits.
func nationalIDFor(nine string) string {
	d := make([]int, 0, 11)
	for _, c := range nine {
		d = append(d, int(c-'0'))
	}
	odd := d[0] + d[2] + d[4] + d[6] + d[8]
	even := d[1] + d[3] + d[5] + d[7]
	d = append(d, ((odd*7-even)%10+10)%10)
	sum := 0
	for _, x := range d {
		sum += x
	}
	d = append(d, sum%10)
	var b strings.Builder
	for _, x := range d {
		b.WriteByte(byte('0' + x))
	}
	return b.String()
}

// ibanFor makes a valid IBAN of country cc from its BBAN.
func ibanFor(cc, bban string) string {
	for k := 2; k < 100; k++ {
		s := fmt.Sprintf("%s%02d%s", cc, k, bban)
		b := []byte(s)
		pos := make([]int, len(b))
		for i := range pos {
			pos[i] = i
		}
		if ibanValid(b, pos) {
			return s
		}
	}
	panic("no check digits")
}

// Random valid ids and IBANs are always masked, and one changed digit
// (almost always) makes them not count.
func TestMaskGenerated(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	digits := func(n int) string {
		var b strings.Builder
		b.WriteByte(byte('1' + r.IntN(9)))
		for range n - 1 {
			b.WriteByte(byte('0' + r.IntN(10)))
		}
		return b.String()
	}
	for range 500 {
		id := nationalIDFor(digits(9))
		if got := (Masking{}).Mask("no " + id + " ok"); got != "no *********"+id[9:]+" ok" {
			t.Fatalf("id %s: %q", id, got)
		}
		iban := ibanFor("TR", digits(22))
		want := iban[:2] + strings.Repeat("*", 20) + iban[22:]
		if got := (Masking{}).Mask(iban); got != want {
			t.Fatalf("iban %s: %q, want %q", iban, got, want)
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

// FuzzMask (seeded from testdata/fuzz/FuzzMask): whatever the text, Mask
// keeps its length, changes only ASCII letters and digits (into
// asterisks), leaves any other byte of a UTF-8 text as it was, and has
// nothing left to mask in what it returns.
func FuzzMask(f *testing.F) {
	for _, s := range []string{"TR33 0006 1005 1978 6457 8413 26", "10000000146", "4111-1111-1111-1111", "şifre TR330006100519786457841326 ğ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m := Masking{}
		got := m.Mask(s)
		if len(got) != len(s) {
			t.Fatalf("length changed: %q -> %q", s, got)
		}
		for i := 0; i < len(s); i++ {
			if got[i] != s[i] && (got[i] != '*' || !isAlnum(s[i])) {
				t.Fatalf("byte %d changed from %q to %q in %q", i, s[i], got[i], s)
			}
		}
		if again := m.Mask(got); again != got {
			t.Fatalf("masked text still held something to mask: %q -> %q -> %q", s, got, again)
		}
	})
}

func BenchmarkMask(b *testing.B) {
	text := "my card is 4111 1111 1111 1111 and order 123456 placed on 2026-11-23, IBAN TR330006100519786457841326"
	b.ReportAllocs()
	for b.Loop() {
		Mask(text)
	}
}

func BenchmarkMaskPlain(b *testing.B) {
	text := "merhaba, hesabıma giriş yapamıyorum, şifremi unuttum; yardımcı olur musunuz?"
	b.ReportAllocs()
	for b.Loop() {
		Mask(text)
	}
}
