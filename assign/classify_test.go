package assign

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func TestFold(t *testing.T) {
	tests := []struct{ in, want string }{
		{"ŞİFREMİ", "sifremi"},
		{"şifremi", "sifremi"},
		{"sifremi", "sifremi"},
		{"SIFREMI", "sifremi"},
		{"Şifremi", "sifremi"},
		{"IŞIK ılık", "isik ilik"},
		{"İstanbul", "istanbul"},
		{"ĞÜÇÖ ğüçö", "guco guco"},
		{"s\u0327ifre", "sifre"}, // decomposed ş
		{"i\u0307", "i"},         // what a naive lower-casing makes of İ
		{"Kâr", "kar"},
		{"HELLO World", "hello world"},
	}
	for _, tt := range tests {
		if got := Fold(tt.in); got != tt.want {
			t.Errorf("Fold(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestClassify(t *testing.T) {
	c := NewClassifier(DefaultRules())
	tests := []struct {
		text   string
		unit   string
		urgent bool
	}{
		{"ŞİFREMİ UNUTTUM", "account", false},
		{"sifremi unuttum", "account", false},
		{"Hesabıma giriş yapamıyorum", "account", false},
		{"kimlik doğrulaması nasıl yapılır", "account", false},
		{"I can't log in, 2FA code never arrives", "account", false},
		{"Hesabım çalındı!", "account", true},
		{"HESABIM ÇALINDI", "account", true},
		{"My account was hacked", "account", true},
		{"Para çekme talebim 3 gündür bekliyor", "financial", false},
		{"Yatırım yaptım ama bakiyeme yansımadı", "financial", false},
		{"I want a refund for this invoice", "financial", false},
		{"kartım çalındı, yetkisiz işlem var", "financial", true},
		{"There is an unauthorized transaction on my card", "financial", true},
		{"Kartımla ödeme yaparken hata alıyorum", "financial", false},
		{"Uygulama açılmıyor, sürekli hata veriyor", "technical", false},
		{"Sayfa yüklenmiyor", "technical", false},
		{"The app crashed with an error", "technical", false},
		{"found a bug in the page", "technical", false},
		{"Bugün şifremi değiştiremedim", "account", false}, // "bugün" is not "bug"
		{"şifre ödeme", "account", false},                  // tie: account first
		{"Merhaba, kampanya hakkında bilgi almak istiyorum", "general", false},
		{"asdf qwerty", "general", false},
		{"", "general", false},
	}
	for _, tt := range tests {
		got := c.Classify(tt.text)
		if got.Unit != tt.unit || got.Urgent != tt.urgent {
			t.Errorf("Classify(%q) = %+v, want unit %s urgent %v", tt.text, got, tt.unit, tt.urgent)
		}
	}
}

func TestClassifyCustomRules(t *testing.T) {
	c := NewClassifier([]Rule{
		{Unit: "vip", Keywords: []string{"gold member"}},
		{Unit: "account", Keywords: []string{"member"}},
		{Unit: "billing", Keywords: []string{"=pay"}, Urgent: []string{"chargeback"}},
	})
	tests := []struct {
		text string
		want Result
	}{
		{"Gold Members lounge", Result{Unit: "vip", Score: 2}},
		{"member", Result{Unit: "account", Score: 1}},
		{"pay", Result{Unit: "billing", Score: 1}},
		{"payment", Result{Unit: "general"}},
		{"a chargeback, gold member", Result{Unit: "vip", Urgent: true, Score: 2}},
	}
	for _, tt := range tests {
		if got := c.Classify(tt.text); got != tt.want {
			t.Errorf("Classify(%q) = %+v, want %+v", tt.text, got, tt.want)
		}
	}
}

func TestClassifierConcurrentSet(t *testing.T) {
	c := NewClassifier(DefaultRules())
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 100 {
				if i%2 == 0 {
					c.Set(DefaultRules())
				} else if got := c.Classify("şifre"); got.Unit != "account" {
					t.Errorf("Classify = %+v", got)
				}
			}
		})
	}
	wg.Wait()
}

func TestWatch(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rules.json")
	write := func(body string, mtime time.Time) {
		t.Helper()
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		// Set the time explicitly: coarse file system clocks could hide a change.
		if err := os.Chtimes(path, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	eventually := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); !ok(); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
		}
	}
	start := time.Now().Add(-time.Hour)
	write(`[{"unit":"vip","keywords":["gold"]}]`, start)

	c := NewClassifier(DefaultRules())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.Watch(ctx, path, 5*time.Millisecond)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})

	eventually("first load", func() bool { return c.Classify("gold card").Unit == "vip" })
	if got := c.Classify("şifre"); got.Unit != "general" {
		t.Errorf("after load, Classify(şifre) = %+v: default rules still in use", got)
	}

	write(`not json`, start.Add(time.Minute))
	time.Sleep(50 * time.Millisecond)
	if got := c.Classify("gold").Unit; got != "vip" {
		t.Errorf("a broken file replaced the rules: Classify(gold) = %s", got)
	}

	write(`[{"unit":"vip","keywords":["platinum"]}]`, start.Add(2*time.Minute))
	eventually("reload", func() bool { return c.Classify("Platinum").Unit == "vip" })
	if got := c.Classify("gold").Unit; got != "general" {
		t.Errorf("after reload, Classify(gold) = %s, want general", got)
	}
}

func TestLoadRules(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, body string
		wantErr    bool
	}{
		{"valid", `[{"unit":"account","keywords":["şifre"],"urgent":["hacked"]}]`, false},
		{"no unit", `[{"keywords":["x"]}]`, true},
		{"not json", `{`, true},
	}
	for _, tt := range tests {
		path := filepath.Join(dir, tt.name+".json")
		if err := os.WriteFile(path, []byte(tt.body), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadRules(path); (err != nil) != tt.wantErr {
			t.Errorf("%s: LoadRules error %v, want error %v", tt.name, err, tt.wantErr)
		}
	}
	if _, err := LoadRules(filepath.Join(dir, "missing.json")); err == nil {
		t.Error("LoadRules(missing) succeeded")
	}
}
