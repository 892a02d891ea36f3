package main

import (
	"context"
	"fmt"
	"time"
)

// saturationP99 is the delivery latency a rate must stay under to count as
// sustained in the saturation search.
const saturationP99 = 50 * time.Millisecond

// SatResult is the saturation search on one target.
type SatResult struct {
	Target string        `json:"target"`
	Limit  float64       `json:"limit_per_second"` // highest rate sustained; 0: not even the first
	Stop   string        `json:"stop"`             // why the search ended
	Steps  []*LoadResult `json:"steps"`
}

// startWindow spreads chat starts at about 500 a second, gentle enough not
// to turn a conversation benchmark into an assignment storm.
func startWindow(chats int) time.Duration {
	return max(100*time.Millisecond, time.Duration(chats)*2*time.Millisecond)
}

// scenarioConv runs the conversation load on each target: the fixed rate,
// then, with -saturate, the search for the highest sustained rate.
func scenarioConv(ctx context.Context, b *bench) error {
	for _, target := range b.targets() {
		if err := b.convOn(ctx, target); err != nil {
			return fmt.Errorf("%s: %w", target, err)
		}
	}
	return nil
}

func (b *bench) convOn(ctx context.Context, target string) error {
	cfg := b.cfg
	b.logf("conv %s: %d chats, %d msg/s for %v", target, cfg.Chats, cfg.Rate, cfg.Duration)
	s, err := setupChats(ctx, b, target, cfg.Chats, startWindow(cfg.Chats))
	defer s.teardown(ctx)
	if err != nil {
		return err
	}
	r, err := runLoad(ctx, s, 0, float64(cfg.Rate), cfg.Duration, 10*time.Second)
	if r != nil {
		b.report.Conv = append(b.report.Conv, r)
		b.logf("conv %s: sent %d delivered %d lost %d dup %d p99 v->a %.2fms", target, r.Sent, r.Delivered, r.Lost, r.Duplicates, ms(r.V2A.P99))
	}
	if err != nil || !cfg.Saturate {
		return err
	}
	sat, err := saturate(ctx, s)
	b.report.Saturation = append(b.report.Saturation, sat)
	return err
}

// sustained says whether a load run kept up: everything delivered once,
// nothing refused, the asked rate reached and p99 within bounds.
func sustained(r *LoadResult) (bool, string) {
	if ok, why := complete(r); !ok {
		return false, why
	}
	switch {
	case r.SentRate < 0.95*r.Rate:
		return false, fmt.Sprintf("generator reached only %.0f msg/s", r.SentRate)
	case r.V2A.P99 > saturationP99:
		return false, fmt.Sprintf("p99 %.1fms > %v", ms(r.V2A.P99), saturationP99)
	}
	return true, ""
}

// complete reports whether every message sent arrived exactly once with no
// error, whatever the timing.
func complete(r *LoadResult) (bool, string) {
	switch {
	case r.Lost > 0:
		return false, fmt.Sprintf("%d messages lost", r.Lost)
	case r.Duplicates > 0:
		return false, fmt.Sprintf("%d duplicates", r.Duplicates)
	case r.SendErrors > 0:
		return false, fmt.Sprintf("%d send errors", r.SendErrors)
	case len(r.Errors) > 0:
		return false, fmt.Sprintf("error frames %v", r.Errors)
	}
	return true, ""
}

// saturate steps the rate up by half each step until a step is not
// sustained, then bisects twice between the last good and the first bad.
func saturate(ctx context.Context, s *chatSet) (*SatResult, error) {
	cfg := s.b.cfg
	res := &SatResult{Target: s.target}
	step := 1
	try := func(rate float64) (bool, error) {
		s.b.logf("saturate %s: step %d at %.0f msg/s", s.target, step, rate)
		r, err := runLoad(ctx, s, step, rate, cfg.SatStep, 10*time.Second)
		step++
		if r == nil {
			return false, err
		}
		res.Steps = append(res.Steps, r)
		ok, why := sustained(r)
		s.b.logf("saturate %s: %.0f msg/s: p99 %.2fms lost %d sent %.0f/s -> %v %s", s.target, rate, ms(r.V2A.P99), r.Lost, r.SentRate, ok, why)
		if !ok {
			res.Stop = fmt.Sprintf("%.0f msg/s: %s", rate, why)
		}
		time.Sleep(time.Second) // let queues settle before the next step
		return ok, err
	}
	good, bad := 0.0, 0.0
	for rate := float64(cfg.SatStart); ; rate = float64(int(rate * 1.5)) {
		if rate > float64(cfg.SatMax) {
			res.Stop = fmt.Sprintf("reached -saturate-max %d msg/s", cfg.SatMax)
			break
		}
		ok, err := try(rate)
		if err != nil {
			return res, err
		}
		if !ok {
			bad = rate
			break
		}
		good = rate
	}
	for i := 0; i < 2 && good > 0 && bad > 0; i++ {
		mid := float64(int((good + bad) / 2))
		if mid-good < good*0.05 {
			break
		}
		ok, err := try(mid)
		if err != nil {
			return res, err
		}
		if ok {
			good = mid
		} else {
			bad = mid
		}
	}
	res.Limit = good
	return res, nil
}
