package reconcile

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ststack/ststack/internal/config"
)

// fakeCF is a CloudFront of tenants in memory that records the changes
// made and can be told to fail a call.
type fakeCF struct {
	mu      sync.Mutex
	tenants map[string]*Tenant             // by name
	certs   map[string]*ManagedCertificate // by tenant id
	calls   []string                       // changes: "create NAME", "request NAME", "attach NAME ARN"
	fail    map[string]error               // by method: get, create, cert, request, attach
	n       int
}

func newFakeCF() *fakeCF {
	return &fakeCF{tenants: map[string]*Tenant{}, certs: map[string]*ManagedCertificate{}, fail: map[string]error{}}
}

func (f *fakeCF) GetTenant(_ context.Context, name string) (Tenant, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.fail["get"]; err != nil {
		return Tenant{}, err
	}
	t, ok := f.tenants[name]
	if !ok {
		return Tenant{}, fmt.Errorf("tenant %s: %w", name, ErrNotFound)
	}
	return *t, nil
}

func (f *fakeCF) CreateTenant(_ context.Context, name, domain string) (Tenant, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.fail["create"]; err != nil {
		return Tenant{}, err
	}
	f.n++
	t := &Tenant{ID: fmt.Sprintf("dt_%d", f.n), Name: name, ETag: "E1"}
	f.tenants[name] = t
	f.certs[t.ID] = &ManagedCertificate{ARN: fmt.Sprintf("arn:cert/%d", f.n), Status: CertPendingValidation}
	f.calls = append(f.calls, "create "+name+" "+domain)
	return *t, nil
}

func (f *fakeCF) Certificate(_ context.Context, t Tenant) (ManagedCertificate, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.fail["cert"]; err != nil {
		return ManagedCertificate{}, err
	}
	c, ok := f.certs[t.ID]
	if !ok {
		return ManagedCertificate{}, ErrNotFound
	}
	return *c, nil
}

func (f *fakeCF) RequestCertificate(_ context.Context, t Tenant, domain string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.fail["request"]; err != nil {
		return err
	}
	f.n++
	f.certs[t.ID] = &ManagedCertificate{ARN: fmt.Sprintf("arn:cert/%d", f.n), Status: CertPendingValidation}
	f.calls = append(f.calls, "request "+t.Name+" "+domain)
	return nil
}

func (f *fakeCF) AttachCertificate(_ context.Context, t Tenant, arn string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.fail["attach"]; err != nil {
		return err
	}
	if cur := f.tenants[t.Name]; cur == nil || cur.ETag != t.ETag {
		return errors.New("PreconditionFailed: stale ETag")
	}
	f.tenants[t.Name].CertificateARN = arn
	f.tenants[t.Name].ETag += "'"
	f.calls = append(f.calls, "attach "+t.Name+" "+arn)
	return nil
}

func (f *fakeCF) take() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.calls
	f.calls = nil
	return c
}

// fakeDNS maps names to CNAME targets.
type fakeDNS struct {
	cname map[string]string
	fail  map[string]error
}

func (d *fakeDNS) CNAME(_ context.Context, name string) (string, error) {
	if err := d.fail[name]; err != nil {
		return "", err
	}
	return d.cname[name], nil
}

type failingStates struct {
	MemoryStates
	putErr error
}

func (f *failingStates) Put(ctx context.Context, s State) error {
	if f.putErr != nil && s.Domain == "b.example" {
		return f.putErr
	}
	return f.MemoryStates.Put(ctx, s)
}

type world struct {
	cf     *fakeCF
	dns    *fakeDNS
	states *failingStates
	now    time.Time
	e      *Engine
}

func newWorld() *world {
	w := &world{cf: newFakeCF(), dns: &fakeDNS{cname: map[string]string{}, fail: map[string]error{}},
		states: &failingStates{}, now: time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)}
	w.e = &Engine{CloudFront: w.cf, DNS: w.dns, States: w.states, Now: func() time.Time { return w.now },
		RetryInterval: time.Hour, MaxAttempts: 3}
	return w
}

func dom(name string) Domain {
	return Domain{Name: name, PolicyHost: "mta-sts." + name, Target: "k-" + name + ".mta-sts.ops.example", Tenant: "ststack-k-" + name}
}

// step runs the engine on a and checks the phase and the changes made.
func (w *world) step(t *testing.T, what string, d Domain, phase Phase, calls ...string) State {
	t.Helper()
	s, err := w.e.Reconcile(context.Background(), d)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if s.Phase != phase {
		t.Fatalf("%s: phase %s (%s), want %s", what, s.Phase, s.Detail, phase)
	}
	if got := w.cf.take(); !slices.Equal(got, calls) {
		t.Fatalf("%s: calls %q, want %q", what, got, calls)
	}
	if s.Detail == "" || s.Domain != d.Name || !s.Checked.Equal(w.now) {
		t.Fatalf("%s: state %+v", what, s)
	}
	return s
}

// TestLifecycle walks one domain through every phase, re-running each
// step to show that a re-run changes nothing.
func TestLifecycle(t *testing.T) {
	w := newWorld()
	d := dom("a.example")
	s := w.step(t, "no CNAME", d, PhaseWaitingForCNAME)
	if !strings.Contains(s.Detail, "mta-sts.a.example. CNAME k-a.example.mta-sts.ops.example.") {
		t.Errorf("detail %q does not give the record", s.Detail)
	}
	since := s.Since
	w.now = w.now.Add(time.Hour)
	if s = w.step(t, "still no CNAME", d, PhaseWaitingForCNAME); !s.Since.Equal(since) {
		t.Errorf("Since moved without a phase change: %v → %v", since, s.Since)
	}

	w.dns.cname["mta-sts.a.example"] = "old.provider.example."
	s = w.step(t, "CNAME elsewhere", d, PhaseCNAMEElsewhere)
	if !strings.Contains(s.Detail, "old.provider.example") || !strings.Contains(s.Detail, d.Target) {
		t.Errorf("detail %q", s.Detail)
	}

	w.dns.cname["mta-sts.a.example"] = "K-A.example.MTA-STS.ops.example."
	s = w.step(t, "CNAME right: tenant created", d, PhaseCertificatePending, "create ststack-k-a.example mta-sts.a.example")
	if s.TenantID != "dt_1" || s.Requests != 1 {
		t.Errorf("state %+v", s)
	}
	w.now = w.now.Add(10 * time.Hour)
	w.step(t, "pending again", d, PhaseCertificatePending)

	w.cf.certs["dt_1"].Status = CertIssued
	s = w.step(t, "issued: attached", d, PhaseServing, "attach ststack-k-a.example arn:cert/1")
	if s.CertificateARN != "arn:cert/1" {
		t.Errorf("state %+v", s)
	}
	w.step(t, "serving again", d, PhaseServing)

	// The client removes its CNAME: shown, the tenant is kept.
	delete(w.dns.cname, "mta-sts.a.example")
	w.step(t, "CNAME removed", d, PhaseWaitingForCNAME)
	w.dns.cname["mta-sts.a.example"] = d.Target
	w.step(t, "CNAME back", d, PhaseServing)
}

// TestCertificateFailure: a failed request is re-requested (CloudFront
// does not retry it), at most once per RetryInterval and MaxAttempts times
// in all; a changed CNAME starts the count over.
func TestCertificateFailure(t *testing.T) {
	for _, status := range []string{CertFailed, CertValidationTimedOut, CertRevoked, CertExpired, CertInactive} {
		t.Run(status, func(t *testing.T) {
			w := newWorld()
			d := dom("a.example")
			w.dns.cname[d.PolicyHost] = d.Target
			w.step(t, "created", d, PhaseCertificatePending, "create ststack-k-a.example mta-sts.a.example")
			w.cf.certs["dt_1"].Status = status
			s := w.step(t, "failed within the interval", d, PhaseCertificatePending)
			if !strings.Contains(s.Detail, status) {
				t.Errorf("detail %q does not name %s", s.Detail, status)
			}
			w.now = w.now.Add(time.Hour)
			s = w.step(t, "re-requested", d, PhaseCertificatePending, "request ststack-k-a.example mta-sts.a.example")
			if s.Requests != 2 {
				t.Errorf("requests %d", s.Requests)
			}
			w.cf.certs["dt_1"].Status = status
			w.now = w.now.Add(time.Hour)
			w.step(t, "third request", d, PhaseCertificatePending, "request ststack-k-a.example mta-sts.a.example")
			w.cf.certs["dt_1"].Status = status
			w.now = w.now.Add(time.Hour)
			s = w.step(t, "gave up", d, PhaseError)
			if !strings.Contains(s.Detail, "CAA") || s.Requests != 3 {
				t.Errorf("state %+v", s)
			}
			// The client changes its CNAME away and back: requests start over.
			w.dns.cname[d.PolicyHost] = "elsewhere.example"
			w.step(t, "elsewhere", d, PhaseCNAMEElsewhere)
			w.dns.cname[d.PolicyHost] = d.Target
			w.now = w.now.Add(time.Hour)
			w.step(t, "again", d, PhaseCertificatePending, "request ststack-k-a.example mta-sts.a.example")
		})
	}
}

// TestFailures: each failing call is the domain's error state, and the
// next run completes the step.
func TestFailures(t *testing.T) {
	boom := errors.New("ThrottlingException: Rate exceeded\nrequest id 1")
	for _, method := range []string{"get", "create", "cert", "attach"} {
		t.Run(method, func(t *testing.T) {
			w := newWorld()
			d := dom("a.example")
			w.dns.cname[d.PolicyHost] = d.Target
			if method == "cert" || method == "attach" {
				w.step(t, "created", d, PhaseCertificatePending, "create ststack-k-a.example mta-sts.a.example")
				w.cf.certs["dt_1"].Status = CertIssued
			}
			w.cf.fail[method] = boom
			s := w.step(t, "failing", d, PhaseError)
			if !strings.Contains(s.Detail, "ThrottlingException: Rate exceeded") || strings.Contains(s.Detail, "request id") {
				t.Errorf("detail %q", s.Detail)
			}
			delete(w.cf.fail, method)
			switch method {
			case "get", "create":
				w.step(t, "recovered", d, PhaseCertificatePending, "create ststack-k-a.example mta-sts.a.example")
			default:
				w.step(t, "recovered", d, PhaseServing, "attach ststack-k-a.example arn:cert/1")
			}
		})
	}
	t.Run("request", func(t *testing.T) {
		w := newWorld()
		d := dom("a.example")
		w.dns.cname[d.PolicyHost] = d.Target
		w.step(t, "created", d, PhaseCertificatePending, "create ststack-k-a.example mta-sts.a.example")
		w.cf.certs["dt_1"].Status = CertFailed
		w.now = w.now.Add(2 * time.Hour)
		w.cf.fail["request"] = boom
		w.step(t, "request fails", d, PhaseError)
		delete(w.cf.fail, "request")
		if s := w.step(t, "recovered", d, PhaseCertificatePending, "request ststack-k-a.example mta-sts.a.example"); s.Requests != 2 {
			t.Errorf("requests %d", s.Requests)
		}
	})
	t.Run("dns", func(t *testing.T) {
		w := newWorld()
		d := dom("a.example")
		w.dns.fail[d.PolicyHost] = errors.New("SERVFAIL")
		if s := w.step(t, "dns fails", d, PhaseError); !strings.Contains(s.Detail, "SERVFAIL") {
			t.Errorf("detail %q", s.Detail)
		}
	})
}

// TestRunIsolation: one client's failures (its CloudFront call, saving
// its state) do not stop the others.
func TestRunIsolation(t *testing.T) {
	w := newWorld()
	a, b, c := dom("a.example"), dom("b.example"), dom("c.example")
	for _, d := range []Domain{a, b, c} {
		w.dns.cname[d.PolicyHost] = d.Target
	}
	w.dns.fail[a.PolicyHost] = errors.New("timeout")
	w.states.putErr = errors.New("DynamoDB unavailable")
	states, err := w.e.Run(context.Background(), []Domain{a, b, c})
	if err == nil || !strings.Contains(err.Error(), "b.example") || !errors.Is(err, w.states.putErr) {
		t.Fatalf("Run error %v", err)
	}
	if len(states) != 3 || states[0].Phase != PhaseError || states[1].Phase != PhaseCertificatePending || states[2].Phase != PhaseCertificatePending {
		t.Fatalf("states %+v", states)
	}
	// Domains are reconciled concurrently: their calls come in any order.
	if got := w.cf.take(); !slices.Equal(slices.Sorted(slices.Values(got)), []string{"create ststack-k-b.example mta-sts.b.example", "create ststack-k-c.example mta-sts.c.example"}) {
		t.Fatalf("calls %q", got)
	}
	// b's tenant exists although its state was not saved: the next run
	// finds it instead of creating another.
	w.states.putErr = nil
	if _, err := w.e.Run(context.Background(), []Domain{b}); err != nil {
		t.Fatal(err)
	}
	if got := w.cf.take(); len(got) != 0 {
		t.Fatalf("re-run made changes %q", got)
	}
}

func TestFromConfig(t *testing.T) {
	cfg, err := config.Parse([]byte(`organization: Op
region: eu-west-1
domains:
  - {name: own.example, dns: {external: true}, policy: {mx: [mx.own.example]}}
  - {name: client.example, dns: delegated, policy: {mx: [mx.client.example]}}
delegation: {zone: clients.ops.example, hosted_zone_id: Z1}
reporting: {mailto: r@own.example}
`), "org.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ds := FromConfig(cfg)
	key := config.DelegationKey("client.example")
	want := Domain{Name: "client.example", PolicyHost: "mta-sts.client.example", Target: key + ".mta-sts.clients.ops.example", Tenant: "ststack-" + key}
	if len(ds) != 1 || ds[0] != want {
		t.Fatalf("FromConfig = %+v, want %+v", ds, want)
	}
}

type rawMap map[string][]byte

func (r rawMap) DelegationState(_ context.Context, d string) ([]byte, bool, error) {
	b, ok := r[d]
	return b, ok, nil
}

func (r rawMap) PutDelegationState(_ context.Context, d string, b []byte) error {
	r[d] = b
	return nil
}

func TestJSONStates(t *testing.T) {
	raw := rawMap{}
	js := JSONStates(raw)
	ctx := context.Background()
	if _, ok, err := js.Get(ctx, "a.example"); ok || err != nil {
		t.Fatalf("before: %v %v", ok, err)
	}
	now := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	want := State{Domain: "a.example", Phase: PhaseServing, Detail: "d", Requests: 2, LastRequest: now, Since: now, Checked: now}
	if err := js.Put(ctx, want); err != nil {
		t.Fatal(err)
	}
	got, ok, err := js.Get(ctx, "a.example")
	if err != nil || !ok || got != want {
		t.Fatalf("got %+v %v %v", got, ok, err)
	}
	raw["b.example"] = []byte("{")
	if _, _, err := js.Get(ctx, "b.example"); err == nil {
		t.Error("a broken state decodes")
	}
}
