// Package stress puts a running `ststack serve` under a bounded, mixed load
// over loopback and checks what it did: policy GETs for many hosts, report
// POSTs of new reports, of reports sent before (duplicates) and of one
// report from several senders at once (concurrent duplicates). Run stops
// after a fixed time or a fixed number of requests, whichever comes first,
// and returns what was sent, the answers, latency percentiles and the
// server's memory over the run; Verify then compares the store's facts with
// what was sent. tools/stress (`make stress`) wires it to the binary.
//
// Every answer is checked: a policy GET must be 200 with the policy, a new
// report 201, a duplicate 200, and of a concurrent group exactly one post
// 201 and the others 200. Anything else — another status, a transport
// error — is an error of the run.
package stress

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ststack/ststack/bench/corpus"
	"github.com/ststack/ststack/internal/store"
)

// Config is one run.
type Config struct {
	// BaseURL is the server's, "http://127.0.0.1:PORT".
	BaseURL string
	// Policies are the policy hosts to GET and the body each must
	// answer with.
	Policies map[string]string
	// Domains are the served mail domains reports are about.
	Domains []string
	// Duration and MaxRequests bound the run; Concurrency is the number
	// of clients.
	Duration    time.Duration
	MaxRequests int
	Concurrency int
	// Seed makes the reports and the mix of requests.
	Seed uint64
	// Memory, if not nil, is sampled every 100 ms: the server's memory in
	// bytes (RSS: its anonymous resident memory).
	Memory func() (int64, error)
}

// The mix of requests, in percent.
const (
	sharePolicy     = 60 // GET a policy
	shareNew        = 30 // POST a new report
	shareDuplicate  = 6  // POST a report sent before
	shareConcurrent = 4  // POST one new report from concurrentSenders at once
)

const concurrentSenders = 3

// Kinds of request, for statistics.
const (
	KindPolicy     = "policy GET"
	KindNew        = "report POST, new"
	KindDuplicate  = "report POST, duplicate"
	KindConcurrent = "report POST, concurrent duplicates"
)

// Expected is what the store must hold for one served domain and UTC day:
// the number of distinct reports and the sums of their counts.
type Expected struct {
	Reports          int
	Success, Failure int64
}

// Result is what a run did.
type Result struct {
	Elapsed  time.Duration
	Requests int
	// Latency of each request by kind.
	Latency map[string][]time.Duration
	// Errors, at most 20 kept (ErrorCount counts them all).
	Errors     []string
	ErrorCount int
	// Reports is the number of distinct reports sent; Expected the facts
	// they must have produced, by domain and day.
	Reports  int
	Expected map[string]map[store.Day]Expected
	// Memory samples of the server, in order.
	Memory []int64
}

// sent is a report posted at least once, for duplicates.
type sent struct {
	body, ct string
}

type runner struct {
	cfg    Config
	client *http.Client
	gen    *corpus.Generator
	genMu  sync.Mutex
	hosts  []string

	mu       sync.Mutex
	res      *Result
	sentList []sent
}

// Run runs the load until ctx is done, Duration has passed or MaxRequests
// were sent.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if cfg.BaseURL == "" || len(cfg.Policies) == 0 || len(cfg.Domains) == 0 {
		return nil, errors.New("stress: BaseURL, Policies and Domains are required")
	}
	if cfg.Duration <= 0 || cfg.MaxRequests <= 0 || cfg.Concurrency <= 0 {
		return nil, errors.New("stress: Duration, MaxRequests and Concurrency must be positive")
	}
	r := &runner{
		cfg: cfg,
		client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
			MaxIdleConnsPerHost: cfg.Concurrency * concurrentSenders, DisableCompression: true}},
		gen: corpus.New(cfg.Seed, corpus.Options{Domains: cfg.Domains}),
		res: &Result{Latency: map[string][]time.Duration{}, Expected: map[string]map[store.Day]Expected{}},
	}
	defer r.client.CloseIdleConnections()
	for h := range cfg.Policies {
		r.hosts = append(r.hosts, h)
	}
	slices.Sort(r.hosts)
	ctx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()

	stopMem := r.sampleMemory()
	var issued atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	for w := range cfg.Concurrency {
		rnd := rand.New(rand.NewPCG(cfg.Seed, uint64(w)+1))
		wg.Go(func() {
			for ctx.Err() == nil {
				p := rnd.IntN(100)
				n := int64(1)
				if p >= sharePolicy+shareNew+shareDuplicate {
					n = concurrentSenders
				}
				if issued.Add(n) > int64(cfg.MaxRequests) {
					return
				}
				r.one(ctx, rnd, p)
			}
		})
	}
	wg.Wait()
	r.res.Elapsed = time.Since(start)
	stopMem()
	return r.res, nil
}

// sampleMemory samples cfg.Memory until the returned function is called.
func (r *runner) sampleMemory() (stop func()) {
	if r.cfg.Memory == nil {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			if v, err := r.cfg.Memory(); err == nil {
				r.mu.Lock()
				r.res.Memory = append(r.res.Memory, v)
				r.mu.Unlock()
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
	return func() { close(done); wg.Wait() }
}

func (r *runner) fail(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.res.ErrorCount++
	if len(r.res.Errors) < 20 {
		r.res.Errors = append(r.res.Errors, fmt.Sprintf(format, args...))
	}
}

func (r *runner) record(kind string, d time.Duration, n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.res.Latency[kind] = append(r.res.Latency[kind], d)
	r.res.Requests += n
}

// one sends one request of the mix (or one concurrent group), chosen by
// p in [0, 100).
func (r *runner) one(ctx context.Context, rnd *rand.Rand, p int) {
	switch {
	case p < sharePolicy:
		host := r.hosts[rnd.IntN(len(r.hosts))]
		r.getPolicy(ctx, host)
	case p < sharePolicy+shareNew:
		s := r.newReport()
		r.post(ctx, KindNew, s, http.StatusCreated)
		r.remember(s)
	case p < sharePolicy+shareNew+shareDuplicate:
		r.mu.Lock()
		var s sent
		ok := len(r.sentList) > 0
		if ok {
			s = r.sentList[rnd.IntN(len(r.sentList))]
		}
		r.mu.Unlock()
		if !ok {
			s = r.newReport()
			r.post(ctx, KindNew, s, http.StatusCreated)
			r.remember(s)
			return
		}
		r.post(ctx, KindDuplicate, s, http.StatusOK)
	default:
		r.concurrent(ctx)
	}
}

// newReport generates a report and counts it as sent.
func (r *runner) newReport() sent {
	r.genMu.Lock()
	rep := r.gen.Next()
	r.genMu.Unlock()
	ct := "application/tlsrpt+json"
	if rep.Gzipped {
		ct = "application/tlsrpt+gzip"
	}
	s := sent{body: string(rep.Body), ct: ct}
	day := store.DayOf(rep.Start)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.res.Reports++
	for i, d := range rep.Domains {
		byDay := r.res.Expected[d]
		if byDay == nil {
			byDay = map[store.Day]Expected{}
			r.res.Expected[d] = byDay
		}
		e := byDay[day]
		e.Reports++
		e.Success += rep.Totals[i].Success
		e.Failure += rep.Totals[i].Failure
		byDay[day] = e
	}
	return s
}

// remember makes s a candidate for duplicates, once its first post is
// answered: a duplicate racing the first post could be the one stored.
func (r *runner) remember(s sent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sentList = append(r.sentList, s)
}

func (r *runner) getPolicy(ctx context.Context, host string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.cfg.BaseURL+"/.well-known/mta-sts.txt", nil)
	if err != nil {
		r.fail("policy %s: %v", host, err)
		return
	}
	req.Host = host
	start := time.Now()
	res, err := r.client.Do(req)
	if err != nil {
		if ctx.Err() == nil {
			r.fail("policy %s: %v", host, err)
		}
		return
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	r.record(KindPolicy, time.Since(start), 1)
	if err != nil || res.StatusCode != http.StatusOK || string(body) != r.cfg.Policies[host] {
		r.fail("policy %s: %d, %d bytes, %v", host, res.StatusCode, len(body), err)
	}
}

// post sends s and checks the status against want; it returns the status
// (0 on a transport error).
func (r *runner) post(ctx context.Context, kind string, s sent, want int) int {
	status, d, err := r.send(ctx, s)
	if err != nil {
		r.fail("%s: %v", kind, err)
		return 0
	}
	r.record(kind, d, 1)
	if want != 0 && status != want {
		r.fail("%s: status %d, want %d", kind, status, want)
	}
	return status
}

func (r *runner) send(ctx context.Context, s sent) (int, time.Duration, error) {
	// Not bound to ctx: a report once sent is followed to its answer, so
	// that what was sent and what is stored agree when the run ends.
	req, err := http.NewRequestWithContext(context.WithoutCancel(ctx), http.MethodPost, r.cfg.BaseURL+"/v1/tlsrpt", strings.NewReader(s.body))
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("Content-Type", s.ct)
	start := time.Now()
	res, err := r.client.Do(req)
	if err != nil {
		return 0, 0, err
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode, time.Since(start), nil
}

// concurrent posts one new report from concurrentSenders clients at once:
// exactly one must answer 201, the others 200.
func (r *runner) concurrent(ctx context.Context) {
	s := r.newReport()
	statuses := make([]int, concurrentSenders)
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for i := range statuses {
		wg.Go(func() {
			<-gate
			statuses[i] = r.post(ctx, KindConcurrent, s, 0)
		})
	}
	close(gate)
	wg.Wait()
	r.remember(s)
	slices.Sort(statuses)
	want := []int{http.StatusOK, http.StatusOK, http.StatusCreated}
	if statuses[0] != 0 && !slices.Equal(statuses, want) {
		r.fail("%s: statuses %v, want one 201 and the others 200", KindConcurrent, statuses)
	}
}

// FactSource is what Verify needs of a store: the facts of a domain over a
// range of days, as store.Fact (embedded.Store and awsstore.Store have it).
type FactSource interface {
	Facts(ctx context.Context, domain string, from, to store.Day) ([]store.Fact, error)
}

// Verify compares the facts of every domain of res.Expected (and of
// others, which must have none) with what was sent: per domain and day,
// the number of reports and the sums of their counts. It returns one line
// per difference.
func Verify(ctx context.Context, src FactSource, res *Result, others []string) ([]string, error) {
	var diffs []string
	domains := make([]string, 0, len(res.Expected))
	for d := range res.Expected {
		domains = append(domains, d)
	}
	slices.Sort(domains)
	for _, d := range append(domains, others...) {
		facts, err := src.Facts(ctx, d, "0001-01-01", "9999-12-31")
		if err != nil {
			return nil, fmt.Errorf("facts of %s: %w", d, err)
		}
		got := map[store.Day]Expected{}
		for _, f := range facts {
			e := got[f.Day]
			e.Reports++
			e.Success += f.Success
			e.Failure += f.Failure
			got[f.Day] = e
		}
		want := res.Expected[d]
		days := map[store.Day]bool{}
		for day := range got {
			days[day] = true
		}
		for day := range want {
			days[day] = true
		}
		sorted := make([]store.Day, 0, len(days))
		for day := range days {
			sorted = append(sorted, day)
		}
		slices.Sort(sorted)
		for _, day := range sorted {
			if g, w := got[day], want[day]; g != w {
				diffs = append(diffs, fmt.Sprintf("%s %s: stored %d reports (%d/%d sessions), sent %d (%d/%d)",
					d, day, g.Reports, g.Success, g.Failure, w.Reports, w.Success, w.Failure))
			}
		}
	}
	return diffs, nil
}

// Flat judges the memory samples: after the first fifth of the run
// (warm-up), the highest sample of the last third must be at most the
// highest of the first third plus a quarter and 16 MiB. It returns the two
// maxima and the verdict; with fewer than 10 samples it says flat.
func Flat(samples []int64) (early, late int64, flat bool) {
	if len(samples) < 10 {
		return 0, 0, true
	}
	s := samples[len(samples)/5:]
	third := len(s) / 3
	early, late = slices.Max(s[:third]), slices.Max(s[len(s)-third:])
	return early, late, late <= early+early/4+16<<20
}

// Percentile returns the p-th percentile (0 < p ≤ 100) of d, which it
// sorts.
func Percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	i := int(float64(len(d))*p/100+0.5) - 1
	return d[min(max(i, 0), len(d)-1)]
}

// Summary writes the run's throughput, latency percentiles by kind and
// memory, as text.
func (res *Result) Summary() string {
	var b bytes.Buffer
	secs := res.Elapsed.Seconds()
	fmt.Fprintf(&b, "%d requests in %.1f s: %.0f requests/s; %d distinct reports; %d errors\n",
		res.Requests, secs, float64(res.Requests)/secs, res.Reports, res.ErrorCount)
	fmt.Fprintf(&b, "%-36s %8s %9s %9s %9s %9s %9s\n", "request", "count", "per s", "p50 ms", "p90 ms", "p99 ms", "max ms")
	for _, k := range []string{KindPolicy, KindNew, KindDuplicate, KindConcurrent} {
		l := res.Latency[k]
		if len(l) == 0 {
			continue
		}
		ms := func(p float64) string {
			return strconv.FormatFloat(float64(Percentile(l, p).Microseconds())/1000, 'f', 2, 64)
		}
		fmt.Fprintf(&b, "%-36s %8d %9.0f %9s %9s %9s %9s\n", k, len(l), float64(len(l))/secs, ms(50), ms(90), ms(99), ms(100))
	}
	if len(res.Memory) > 0 {
		early, late, flat := Flat(res.Memory)
		verdict := "flat"
		if !flat {
			verdict = "GROWING"
		}
		fmt.Fprintf(&b, "server memory (anonymous RSS): first %.1f MiB, max %.1f MiB; early %.1f MiB, late %.1f MiB: %s\n",
			mib(res.Memory[0]), mib(slices.Max(res.Memory)), mib(early), mib(late), verdict)
	}
	return b.String()
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

// RSS returns the anonymous resident memory (RssAnon: heap, stacks) of
// process pid, in bytes. File-backed pages are left out: the embedded
// store's memory-mapped database grows with the data stored, which is not
// the server's memory growing.
func RSS(pid int) (int64, error) {
	return procStatus(pid, "RssAnon:")
}

// FileRSS returns the file-backed resident memory (RssFile) of process
// pid, in bytes: the binary and the memory-mapped database.
func FileRSS(pid int) (int64, error) {
	return procStatus(pid, "RssFile:")
}

func procStatus(pid int, field string) (int64, error) {
	name := "/proc/" + strconv.Itoa(pid) + "/status"
	b, err := os.ReadFile(name)
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, field); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("stress: no " + field + " in " + name)
}
