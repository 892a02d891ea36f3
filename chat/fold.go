package chat

import (
	"strings"
	"unicode"
)

// Fold reduces a text to the form in which two requests are compared:
// lower case by Turkish rules (İ and I are i, as ı is), accents and
// cedillas dropped (ş is s, ğ is g, ü is u, é is e), punctuation turned
// into spaces and runs of spaces into one. "ŞİFREMİ UNUTTUM!" and
// "sifremi  unuttum" fold alike.
func Fold(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := true // drop leading spaces
	for _, r := range s {
		r = foldRune(r)
		switch {
		case r == 0: // a combining mark: dropped
			continue
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
			space = false
		default:
			if !space {
				b.WriteByte(' ')
				space = true
			}
		}
	}
	return strings.TrimSuffix(b.String(), " ")
}

// foldRune maps one rune; 0 means drop it.
func foldRune(r rune) rune {
	if r >= 0x300 && r <= 0x36f { // combining diacritical marks (decomposed text)
		return 0
	}
	if f, ok := folds[r]; ok {
		return f
	}
	return unicode.ToLower(r)
}

var folds = map[rune]rune{
	'İ': 'i', 'I': 'i', 'ı': 'i', 'Î': 'i', 'î': 'i', 'Í': 'i', 'í': 'i', 'Ì': 'i', 'ì': 'i', 'Ï': 'i', 'ï': 'i',
	'Ş': 's', 'ş': 's', 'Ğ': 'g', 'ğ': 'g', 'Ç': 'c', 'ç': 'c',
	'Ü': 'u', 'ü': 'u', 'Û': 'u', 'û': 'u', 'Ú': 'u', 'ú': 'u', 'Ù': 'u', 'ù': 'u',
	'Ö': 'o', 'ö': 'o', 'Ô': 'o', 'ô': 'o', 'Ó': 'o', 'ó': 'o', 'Ò': 'o', 'ò': 'o',
	'Â': 'a', 'â': 'a', 'Á': 'a', 'á': 'a', 'À': 'a', 'à': 'a', 'Ä': 'a', 'ä': 'a', 'Ã': 'a', 'ã': 'a',
	'É': 'e', 'é': 'e', 'È': 'e', 'è': 'e', 'Ê': 'e', 'ê': 'e', 'Ë': 'e', 'ë': 'e',
	'Ñ': 'n', 'ñ': 'n', 'ß': 's',
}

// SameMatter reports whether two requests are about the same matter: their
// subjects or their texts are equal once folded, or clearly similar (at
// least four words each, and four in five of all the words they use
// shared by both).
func SameMatter(subjectA, textA, subjectB, textB string) bool {
	return sameText(subjectA, subjectB) || sameText(textA, textB)
}

func sameText(a, b string) bool {
	fa, fb := Fold(a), Fold(b)
	if fa == "" || fb == "" {
		return false
	}
	if fa == fb {
		return true
	}
	wa, wb := words(fa), words(fb)
	if len(wa) < 4 || len(wb) < 4 {
		return false
	}
	shared := 0
	for w := range wa {
		if wb[w] {
			shared++
		}
	}
	union := len(wa) + len(wb) - shared
	return shared*5 >= union*4
}

func words(folded string) map[string]bool {
	out := map[string]bool{}
	for _, w := range strings.Fields(folded) {
		out[w] = true
	}
	return out
}
