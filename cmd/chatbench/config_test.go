package main

import (
	"errors"
	"flag"
	"io"
	"slices"
	"testing"
	"time"
)

func TestParseArgsDefaults(t *testing.T) {
	c, err := parseArgs(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.URL != "http://127.0.0.1:8080" || c.URL2 != "" || !slices.Equal(c.Scenarios, allScenarios) || !c.Relay ||
		c.AdminEmail != "admin@example.com" || c.AdminPassword != "bench-password" || c.Duration != 10*time.Second {
		t.Fatalf("defaults %+v", c)
	}
}

func TestParseArgs(t *testing.T) {
	c, err := parseArgs([]string{"-url", "http://127.0.0.1:8081/", "-url2", "http://127.0.0.1:8082", "-scenarios", "conv, storm,conv",
		"-chats", "1000", "-rate", "5000", "-duration", "20", "-saturate", "-saturate-step", "1.5", "-outage", "2s", "-json", "out.json"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.URL != "http://127.0.0.1:8081" || c.URL2 != "http://127.0.0.1:8082" || !slices.Equal(c.Scenarios, []string{"conv", "storm"}) ||
		c.Chats != 1000 || c.Rate != 5000 || c.Duration != 20*time.Second || !c.Saturate || c.SatStep != 1500*time.Millisecond ||
		c.Outage != 2*time.Second || c.JSON != "out.json" {
		t.Fatalf("parsed %+v", c)
	}
	if !c.has("storm") || c.has("idle") {
		t.Fatal("has")
	}
}

func TestParseArgsRelayOnly(t *testing.T) {
	c, err := parseArgs([]string{"-url", "", "-scenarios", "conv"}, io.Discard)
	if err != nil || c.URL != "" || !slices.Equal(c.Scenarios, []string{"conv"}) {
		t.Fatalf("%+v %v", c, err)
	}
	if _, err := parseArgs([]string{"-url", "", "-scenarios", "idle"}, io.Discard); err == nil {
		t.Fatal("idle without a server accepted")
	}
}

func TestParseArgsErrors(t *testing.T) {
	for _, args := range [][]string{
		{"-scenarios", "idle,bogus"},
		{"-scenarios", ""},
		{"-url", "127.0.0.1:8080"},
		{"-url", "ftp://x"},
		{"-url", "", "-url2", "http://127.0.0.1:1"},
		{"-chats", "0"},
		{"-rate", "-5"},
		{"-duration", "soon"},
		{"-duration", "0"},
		{"-max-chats", "101"},
		{"stray"},
	} {
		if _, err := parseArgs(args, io.Discard); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
	if _, err := parseArgs([]string{"-h"}, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v", err)
	}
}

func TestAgentsPerUnit(t *testing.T) {
	for _, c := range []struct{ chats, units, max, want int }{
		{1000, 4, 10, 26}, {1, 4, 10, 2}, {40, 4, 10, 2}, {41, 4, 10, 3}, {0, 4, 10, 0},
	} {
		if got := agentsPerUnit(c.chats, c.units, c.max); got != c.want {
			t.Errorf("agentsPerUnit(%d, %d, %d) = %d, want %d", c.chats, c.units, c.max, got, c.want)
		}
	}
}
