package rollout

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/ststack/ststack/internal/config"
	"github.com/ststack/ststack/internal/health"
	"github.com/ststack/ststack/internal/mtasts"
	"github.com/ststack/ststack/internal/store"
)

// Source is what Read needs of a store; embedded.Store and awsstore.Store
// implement it.
//
// DaySums returns the sums of domain's facts for every day of [from, to]
// (store.SumDays), those up to complete derived once and kept by the store.
// Facts returns domain's facts whose day is in [from, to]. Last returns the
// latest check result saved for domain, ok false (no error) when none. An
// error means the store could not be read. All must be safe for concurrent
// use.
type Source interface {
	DaySums(ctx context.Context, domain string, from, to, complete store.Day) ([]store.DaySum, error)
	Facts(ctx context.Context, domain string, from, to store.Day) ([]store.Fact, error)
	Last(ctx context.Context, domain string) (r health.Result, ok bool, err error)
}

// Counting is the organisation file's reporting.count as the store's
// Counting.
func Counting(c *config.Config) store.Counting {
	return store.Counting{Provenances: c.Reporting.Count.Provenances, Conflicting: c.Reporting.Count.Conflicting}
}

// FactSource is the part of Source that Gather reads.
type FactSource interface {
	Facts(ctx context.Context, domain string, from, to store.Day) ([]store.Fact, error)
}

// Read gathers Decide's input for domain d at now: the day sums of the
// lookback (days before today are complete), the facts of the days with
// failed sts sessions only, and the latest check result. check, when not
// nil, is used instead of the stored result (the checker's own run).
func Read(ctx context.Context, src Source, d config.Domain, counting store.Counting, th Thresholds, now time.Time, check *health.Result) (Input, error) {
	var sums []store.DaySum
	if !d.Retiring() && d.Policy.Mode != mtasts.ModeNone {
		today := store.DayOf(now)
		var err error
		sums, err = src.DaySums(ctx, d.Name, today.AddDays(-(th.Lookback() - 1)), today, today.AddDays(-1))
		if err != nil {
			return Input{}, fmt.Errorf("rollout: day sums of %s: %w", d.Name, err)
		}
	}
	if check == nil {
		r, ok, err := src.Last(ctx, d.Name)
		if err != nil {
			return Input{}, fmt.Errorf("rollout: check result of %s: %w", d.Name, err)
		}
		if ok {
			check = &r
		}
	}
	return Gather(ctx, src, d, sums, counting, th, now, check)
}

// Covers reports whether day sums of [from, to] hold the lookback at now,
// so that Gather can use them instead of reading again.
func (th Thresholds) Covers(from, to store.Day, now time.Time) bool {
	today := store.DayOf(now)
	return from <= today.AddDays(-(th.Lookback()-1)) && to >= today
}

// Gather builds Decide's input for domain d at now from day sums already
// read (those within the lookback are used) and the latest check (nil:
// none), reading only the facts of the days with failed sts sessions.
func Gather(ctx context.Context, src FactSource, d config.Domain, sums []store.DaySum, counting store.Counting, th Thresholds, now time.Time, check *health.Result) (Input, error) {
	in := Input{Domain: d, Now: now, Counting: counting, Check: check}
	if d.Retiring() || d.Policy.Mode == mtasts.ModeNone {
		return in, nil
	}
	today := store.DayOf(now)
	from := today.AddDays(-(th.Lookback() - 1))
	var first, last store.Day
	for _, s := range sums {
		if s.Day < from || s.Day > today {
			continue
		}
		c := s.Counted(counting)
		in.Days = append(in.Days, Day{Day: s.Day, DayCount: c})
		if c.STS.Failure > 0 {
			if first == "" {
				first = s.Day
			}
			last = s.Day
		}
	}
	if first != "" {
		var err error
		if in.Facts, err = src.Facts(ctx, d.Name, first, last); err != nil {
			return Input{}, fmt.Errorf("rollout: facts of %s: %w", d.Name, err)
		}
	}
	return in, nil
}

// planWorkers bounds the domains Plan reads at once: a deployed stack's
// store answers over the network, and 1,000 domains one after the other
// would wait on 1,000 round trips in turn.
const planWorkers = 8

// Plan decides every domain of c at now, in file order. It reads at most
// planWorkers domains at once and stops at the first error.
func Plan(ctx context.Context, src Source, c *config.Config, now time.Time) ([]Step, error) {
	th := FromConfig(c)
	counting := Counting(c)
	steps := make([]Step, len(c.Domains))
	var (
		once  sync.Once
		first error // the first error in time, not one the cancel caused
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, planWorkers)
	var wg sync.WaitGroup
	for i, d := range c.Domains {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			in, err := Read(ctx, src, d, counting, th, now, nil)
			if err != nil {
				once.Do(func() { first = err; cancel() })
				return
			}
			steps[i] = Decide(in, th)
		}()
	}
	wg.Wait()
	if first != nil {
		return nil, first
	}
	return steps, nil
}
