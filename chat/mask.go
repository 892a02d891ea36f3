package chat

// Mask hides the personal and financial numbers a customer may type before
// text is stored, delivered, logged or sent anywhere: every text that
// enters chatd goes through it.
func Mask(s string) string { return MaskCards(s) }

// MaskCards replaces every Luhn-valid run of 13 to 19 digits (spaces or
// dashes allowed between digits) with asterisks, keeping the last four
// digits and the separators, so a card number is never stored or relayed.
func MaskCards(s string) string {
	digits := 0
	for i := 0; i < len(s); i++ {
		if isDigit(s[i]) {
			digits++
		}
	}
	if digits < 13 { // most messages: nothing to look at, nothing to copy
		return s
	}
	b := []byte(s)
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
		if masked := maskRun(b, pos); masked {
			changed = true
		}
		i = j
	}
	if !changed {
		return s
	}
	return string(b)
}

// maskRun masks each Luhn-valid window of 13-19 digits in pos that begins
// and ends on group boundaries (groups are split by spaces or dashes), so
// "4111 1111 1111 1111" and two cards in a row are masked, while a longer
// number such as an order id is left whole.
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
			if len(w) >= 13 && len(w) <= 19 && luhn(b, w) {
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

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
