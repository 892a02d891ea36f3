package assign

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"time"
	"unicode"
)

// Rule lists the keywords that point a message to a unit. Keywords are
// matched after Fold, as prefixes of words (Turkish is agglutinative:
// "şifre" matches "şifremi"); a keyword of several words matches those
// words in a row, each as a prefix. A keyword starting with "=" matches
// whole words only, for short words that begin common longer ones ("=bug"
// must not match "bugün"). Urgent keywords count like the others and also
// mark the message urgent.
type Rule struct {
	Unit     string   `json:"unit"`
	Keywords []string `json:"keywords"`
	Urgent   []string `json:"urgent,omitempty"`
}

// Result is a classification. Score is the number of keyword words that
// matched for Unit; 0 means nothing matched and Unit is "general".
type Result struct {
	Unit   string
	Urgent bool
	Score  int
}

// DefaultUnit receives messages no rule matches.
const DefaultUnit = "general"

// tieOrder settles equal scores; other units follow in name order.
var tieOrder = []string{"account", "financial", "technical", DefaultUnit}

// Classifier picks a unit for a visitor's message. It is safe for
// concurrent use; Set and Watch replace its rules atomically.
type Classifier struct {
	rules atomic.Pointer[[]unitRules]
}

type unitRules struct {
	unit             string
	keywords, urgent []keyword
}

type keyword struct {
	words []string
	whole bool
}

// NewClassifier returns a Classifier using rules.
func NewClassifier(rules []Rule) *Classifier {
	c := &Classifier{}
	c.Set(rules)
	return c
}

// Set replaces the rules.
func (c *Classifier) Set(rules []Rule) {
	byUnit := map[string]*unitRules{}
	var units []*unitRules
	for _, r := range rules {
		u := byUnit[r.Unit]
		if u == nil {
			u = &unitRules{unit: r.Unit}
			byUnit[r.Unit] = u
			units = append(units, u)
		}
		u.keywords = append(u.keywords, compile(r.Keywords)...)
		u.urgent = append(u.urgent, compile(r.Urgent)...)
	}
	slices.SortFunc(units, func(a, b *unitRules) int {
		ra, rb := tieRank(a.unit), tieRank(b.unit)
		if ra != rb {
			return ra - rb
		}
		return strings.Compare(a.unit, b.unit)
	})
	compiled := make([]unitRules, len(units))
	for i, u := range units {
		compiled[i] = *u
	}
	c.rules.Store(&compiled)
}

func tieRank(unit string) int {
	if i := slices.Index(tieOrder, unit); i >= 0 {
		return i
	}
	return len(tieOrder)
}

func compile(list []string) []keyword {
	var out []keyword
	for _, s := range list {
		k := keyword{}
		if rest, ok := strings.CutPrefix(s, "="); ok {
			k.whole, s = true, rest
		}
		if k.words = words(s); len(k.words) > 0 {
			out = append(out, k)
		}
	}
	return out
}

// Classify returns the unit whose keywords match the text best; ties go to
// the first of account, financial, technical, general, then by name. Urgent
// is set when any rule's urgent keyword matches, whichever unit wins.
func (c *Classifier) Classify(text string) Result {
	ws := words(text)
	best := Result{Unit: DefaultUnit}
	urgent := false
	for _, u := range *c.rules.Load() {
		score := 0
		for _, k := range u.keywords {
			if k.in(ws) {
				score += len(k.words)
			}
		}
		for _, k := range u.urgent {
			if k.in(ws) {
				score += len(k.words)
				urgent = true
			}
		}
		if score > best.Score {
			best = Result{Unit: u.unit, Score: score}
		}
	}
	best.Urgent = urgent
	return best
}

// in reports whether the keyword occurs in the folded words ws.
func (k keyword) in(ws []string) bool {
	for i := 0; i+len(k.words) <= len(ws); i++ {
		if k.at(ws[i:]) {
			return true
		}
	}
	return false
}

func (k keyword) at(ws []string) bool {
	for j, w := range k.words {
		if k.whole && ws[j] != w || !k.whole && !strings.HasPrefix(ws[j], w) {
			return false
		}
	}
	return true
}

// words folds s and splits it into runs of letters and digits.
func words(s string) []string {
	return strings.FieldsFunc(Fold(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}

// turkish maps the letters Fold must treat specially, whatever the case.
// Both I and İ become i because visitors type Turkish on keyboards without
// Turkish letters and the reverse.
var turkish = map[rune]rune{
	'İ': 'i', 'I': 'i', 'ı': 'i',
	'Ş': 's', 'ş': 's',
	'Ğ': 'g', 'ğ': 'g',
	'Ç': 'c', 'ç': 'c',
	'Ö': 'o', 'ö': 'o',
	'Ü': 'u', 'ü': 'u',
	'Â': 'a', 'â': 'a',
	'Î': 'i', 'î': 'i',
	'Û': 'u', 'û': 'u',
}

// Fold lowercases s the Turkish way and strips the Turkish letters to
// ASCII, so "ŞİFREMİ", "şifremi" and "sifremi" all become "sifremi".
// Combining marks are dropped, which also folds decomposed letters
// ("s" + U+0327) like their precomposed forms.
func Fold(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if t, ok := turkish[r]; ok {
			b.WriteRune(t)
			continue
		}
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// LoadRules reads rules from a JSON file holding an array of Rule.
func LoadRules(path string) ([]Rule, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("assign: load rules: %w", err)
	}
	var rules []Rule
	if err := json.Unmarshal(data, &rules); err != nil {
		return nil, fmt.Errorf("assign: load rules from %s: %w", path, err)
	}
	for i, r := range rules {
		if r.Unit == "" {
			return nil, fmt.Errorf("assign: load rules from %s: rule %d has no unit", path, i)
		}
	}
	return rules, nil
}

// Watch loads the rules at path now and again whenever the file's
// modification time or size changes, checking every interval (default 1s),
// until ctx ends. A file that cannot be read or parsed leaves the rules in
// use; the problem is logged once. Run it in its own goroutine.
func (c *Classifier) Watch(ctx context.Context, path string, every time.Duration) {
	if every <= 0 {
		every = time.Second
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	var (
		seen    os.FileInfo
		missing bool
	)
	for {
		fi, err := os.Stat(path)
		if err != nil {
			if !missing {
				slog.Warn("classifier rules unreadable", "path", path, "err", err)
			}
			missing = true
		} else {
			missing = false
			if seen == nil || !fi.ModTime().Equal(seen.ModTime()) || fi.Size() != seen.Size() {
				seen = fi
				c.reload(path)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (c *Classifier) reload(path string) {
	rules, err := LoadRules(path)
	if err != nil {
		slog.Warn("classifier rules not reloaded", "path", path, "err", err)
		return
	}
	c.Set(rules)
	slog.Info("classifier rules loaded", "path", path, "rules", len(rules))
}
