package store

import "testing"

func TestParseSentinel(t *testing.T) {
	tests := []struct {
		url, master, pw string
		addrs, db       int
		bad             bool
	}{
		{url: "redis+sentinel://h1:26379,h2:26379/mymaster", master: "mymaster", addrs: 2},
		{url: "redis+sentinel://:secret@h1:26379/mymaster/3", master: "mymaster", pw: "secret", addrs: 1, db: 3},
		{url: "redis+sentinel://h1:26379/", bad: true},
		{url: "redis+sentinel://h1:26379/m/x", bad: true},
	}
	for _, tt := range tests {
		opt, err := parseSentinel(tt.url)
		if tt.bad {
			if err == nil {
				t.Errorf("%s: accepted", tt.url)
			}
			continue
		}
		if err != nil || opt.MasterName != tt.master || opt.Password != tt.pw || len(opt.SentinelAddrs) != tt.addrs || opt.DB != tt.db {
			t.Errorf("%s: %+v %v", tt.url, opt, err)
		}
	}
}
