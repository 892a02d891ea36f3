package chat

import "sync/atomic"

// Masking says which numbers Mask hides; its zero value hides them all:
// card numbers, IBANs and Turkish national id numbers.
type Masking struct {
	// KeepNationalIDs leaves Turkish national id numbers as typed
	// (CHAT_MASK_NATIONAL_IDS=0).
	KeepNationalIDs bool
}

// masking is the process's choice, set once at start from the
// configuration: every text passes through Mask, wherever it enters.
var masking atomic.Pointer[Masking]

// SetMasking sets what Mask hides from now on.
func SetMasking(m Masking) { masking.Store(&m) }

// Mask hides the personal and financial numbers a customer may type before
// text is stored, delivered, logged or sent anywhere: every text that
// enters chatd goes through it. What it hides is replaced by asterisks,
// one for each character, so the text keeps its length and shape.
func Mask(s string) string {
	m := masking.Load()
	if m == nil {
		m = &Masking{}
	}
	return m.Mask(s)
}

// Mask hides what m says in s: IBANs first (their digits would otherwise
// look like a card number or an id), then card numbers, then national ids.
func (m Masking) Mask(s string) string {
	digits := 0
	for i := 0; i < len(s); i++ {
		if isDigit(s[i]) {
			digits++
		}
	}
	if digits < 10 { // fewer digits than any IBAN, card or id holds: most messages
		return s
	}
	b := []byte(s)
	changed := maskIBANs(b)
	if digits >= 13 && maskCards(b) {
		changed = true
	}
	if !m.KeepNationalIDs && digits >= 11 && maskNationalIDs(b) {
		changed = true
	}
	if !changed {
		return s
	}
	return string(b)
}

// MaskCards replaces every Luhn-valid run of 13 to 19 digits (spaces or
// dashes allowed between digits) with asterisks, keeping the last four
// digits and the separators, so a card number is never stored or relayed.
func MaskCards(s string) string {
	b := []byte(s)
	if !maskCards(b) {
		return s
	}
	return string(b)
}

func maskCards(b []byte) bool {
	changed := false
	for i := 0; i < len(b); {
		if !isDigit(b[i]) || (i > 0 && isDigit(b[i-1])) {
			i++
			continue
		}
		// Collect the digit positions of a run starting at i.
		var pos []int
		j := i
		for j < len(b) {
			if isDigit(b[j]) {
				pos = append(pos, j)
				j++
				continue
			}
			if (b[j] == ' ' || b[j] == '-') && j+1 < len(b) && isDigit(b[j+1]) && j > i {
				j++
				continue
			}
			break
		}
		if len(pos) >= 4 && maskedTail(b, i) {
			// The visible last four digits of a card masked before:
			// they belong to that card, not to what follows.
			pos = pos[4:]
		}
		if masked := maskRun(b, pos); masked {
			changed = true
		}
		i = j
	}
	return changed
}

// maskedTail reports whether the digits starting at i follow a card
// number already masked: at least nine asterisks (separators between them
// allowed) right before them. The first four digits are then that card's
// kept end, not the start of another number, so masking a masked text
// again changes nothing.
func maskedTail(b []byte, i int) bool {
	stars := 0
	for k := i - 1; k >= 0; k-- {
		switch {
		case b[k] == '*':
			stars++
		case (b[k] == ' ' || b[k] == '-') && k > 0 && b[k-1] == '*':
		default:
			return stars >= 9
		}
	}
	return stars >= 9
}

// maskRun masks each Luhn-valid window of 13-19 digits in pos that begins
// and ends on group boundaries (groups are split by spaces or dashes), so
// "4111 1111 1111 1111" and two cards in a row are masked, while a longer
// number such as an order id is left whole. A card written in groups is
// written in groups of 3 to 6 digits (4-4-4-4, Amex's 4-6-5): a date and a
// phone number in a row ("2026-11-23 0212 555 44 33") are not one.
func maskRun(b []byte, pos []int) bool {
	var groups []int // index into pos where each group starts
	for k := range pos {
		if k == 0 || pos[k] != pos[k-1]+1 {
			groups = append(groups, k)
		}
	}
	groups = append(groups, len(pos))
	masked := false
	for i := 0; i < len(groups)-1; {
		found := -1
		for j := len(groups) - 1; j > i; j-- {
			w := pos[groups[i]:groups[j]]
			if len(w) >= 13 && len(w) <= 19 && cardGroups(groups[i:j+1]) && luhn(b, w) {
				found = j
				break
			}
		}
		if found < 0 {
			i++
			continue
		}
		w := pos[groups[i]:groups[found]]
		for _, p := range w[:len(w)-4] {
			b[p] = '*'
		}
		masked = true
		i = found
	}
	return masked
}

// cardGroups reports whether the groups starting at bounds[0],
// bounds[1], ... (the last bound ends the last) could be a card's: one
// group, or groups of 3 to 6 digits.
func cardGroups(bounds []int) bool {
	if len(bounds) == 2 {
		return true
	}
	for k := 0; k+1 < len(bounds); k++ {
		if n := bounds[k+1] - bounds[k]; n < 3 || n > 6 {
			return false
		}
	}
	return true
}

func luhn(b []byte, pos []int) bool {
	sum := 0
	for i := len(pos) - 1; i >= 0; i-- {
		d := int(b[pos[i]] - '0')
		if (len(pos)-1-i)%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}

// ibanLengths is the length of the IBANs of each country using them (the
// SWIFT IBAN registry). Only a country's own length is taken for one of
// its IBANs, which keeps ordinary words followed by numbers unmasked.
var ibanLengths = map[string]int{
	"AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BI": 27,
	"BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27, "DK": 18, "DO": 28,
	"EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
	"GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27,
	"JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25,
	"MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18,
	"NO": 15, "OM": 23, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33,
	"SA": 24, "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28,
	"TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}

// maskIBANs masks every IBAN in b whose mod-97 check holds, written with
// or without spaces (or dashes) between characters, in either case: every
// character but the country code and the last four becomes an asterisk
// ("TR** **** **** **** **** **13 26").
func maskIBANs(b []byte) bool {
	changed := false
	for i := 0; i+1 < len(b); i++ {
		if !isLetter(b[i]) || !isLetter(b[i+1]) || (i > 0 && isAlnum(b[i-1])) {
			continue
		}
		n := ibanLengths[string([]byte{upper(b[i]), upper(b[i+1])})]
		if n == 0 {
			continue
		}
		pos := make([]int, 0, n)
		for j := i; j < len(b) && len(pos) < n; j++ {
			switch {
			case isAlnum(b[j]):
				pos = append(pos, j)
			case (b[j] == ' ' || b[j] == '-') && len(pos) > 0 && j+1 < len(b) && isAlnum(b[j+1]):
			default:
				j = len(b) // the run ended short
			}
		}
		if len(pos) < n || (pos[n-1]+1 < len(b) && isAlnum(b[pos[n-1]+1])) || !isDigit(b[pos[2]]) || !isDigit(b[pos[3]]) || !ibanValid(b, pos) {
			continue
		}
		for _, p := range pos[2 : n-4] {
			b[p] = '*'
		}
		changed = true
		i = pos[n-1]
	}
	return changed
}

// ibanValid is the IBAN check: the characters with the first four moved
// to the end, letters read as 10..35, are 1 modulo 97.
func ibanValid(b []byte, pos []int) bool {
	r := 0
	for k := range pos {
		c := upper(b[pos[(k+4)%len(pos)]])
		if isDigit(c) {
			r = (r*10 + int(c-'0')) % 97
		} else {
			r = (r*100 + int(c-'A') + 10) % 97
		}
	}
	return r == 1
}

// maskNationalIDs masks every Turkish national id number (T.C. kimlik
// no) in b: a run of exactly 11 digits, the first not 0, whose tenth digit
// is (7 x (d1+d3+d5+d7+d9) - (d2+d4+d6+d8)) mod 10 and whose eleventh is
// the sum of the first ten mod 10. All but the last two digits become
// asterisks.
func maskNationalIDs(b []byte) bool {
	changed := false
	for i := 0; i+11 <= len(b); i++ {
		if !isDigit(b[i]) || (i > 0 && isDigit(b[i-1])) {
			continue
		}
		if (i+11 < len(b) && isDigit(b[i+11])) || !nationalID(b[i:i+11]) {
			continue
		}
		for k := i; k < i+9; k++ {
			b[k] = '*'
		}
		changed = true
		i += 10
	}
	return changed
}

func nationalID(d []byte) bool {
	var n [11]int
	for k := range 11 {
		if !isDigit(d[k]) {
			return false
		}
		n[k] = int(d[k] - '0')
	}
	if n[0] == 0 {
		return false
	}
	odd := n[0] + n[2] + n[4] + n[6] + n[8]
	even := n[1] + n[3] + n[5] + n[7]
	if ((odd*7-even)%10+10)%10 != n[9] {
		return false
	}
	sum := 0
	for k := range 10 {
		sum += n[k]
	}
	return sum%10 == n[10]
}

func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isAlnum(c byte) bool  { return isDigit(c) || isLetter(c) }

func upper(c byte) byte {
	if c >= 'a' && c <= 'z' {
		return c - 'a' + 'A'
	}
	return c
}
