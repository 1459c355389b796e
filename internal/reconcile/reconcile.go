package reconcile

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/ststack/ststack/internal/config"
)

// Phase is where a delegated domain stands. Phases are stable strings:
// the dashboard and the JSON API show them.
type Phase string

const (
	PhaseWaitingForCNAME    Phase = "waiting-for-cname"
	PhaseCNAMEElsewhere     Phase = "cname-elsewhere"
	PhaseCertificatePending Phase = "certificate-pending"
	PhaseServing            Phase = "serving"
	PhaseError              Phase = "error"
)

// Defaults of Engine.
const (
	// DefaultRetryInterval is the least time between two certificate
	// requests for one tenant: ACM allows a limited number of requests a
	// year (5,000 by default), which a failing client must not use up.
	DefaultRetryInterval = 6 * time.Hour
	// DefaultMaxAttempts bounds the certificate requests for one domain
	// until its CNAME changes or the operator clears its state.
	DefaultMaxAttempts = 5
	// DefaultConcurrency is how many domains Run reconciles at once: one
	// after the other, 1,000 client domains take half the function's
	// 5-minute schedule (docs/performance.md, "Data at 1,000 domains");
	// few at a time, because CloudFront's control plane throttles bursts
	// of calls.
	DefaultConcurrency = 4
)

// Certificate statuses of a CloudFront-managed certificate, as
// GetManagedCertificateDetails returns them:
// https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_ManagedCertificateDetails.html
// (pending-validation | issued | inactive | expired | validation-timed-out
// | revoked | failed).
const (
	CertPendingValidation  = "pending-validation"
	CertIssued             = "issued"
	CertInactive           = "inactive"
	CertExpired            = "expired"
	CertValidationTimedOut = "validation-timed-out"
	CertRevoked            = "revoked"
	CertFailed             = "failed"
)

// ErrNotFound is returned by CloudFront.GetTenant when no tenant has the
// name.
var ErrNotFound = errors.New("not found")

// Tenant is a CloudFront distribution tenant as the engine needs it.
type Tenant struct {
	ID, Name string
	// ETag is the tenant's current version, which an update must give
	// (IfMatch).
	ETag string
	// CertificateARN is the certificate attached to the tenant
	// (Customizations.Certificate.Arn); empty: none.
	CertificateARN string
}

// ManagedCertificate is a tenant's CloudFront-managed certificate request.
type ManagedCertificate struct {
	ARN    string
	Status string // one of the Cert… statuses
}

// CloudFront is what the engine asks of CloudFront SaaS Manager. The
// implementation wraps the SDK (aws-sdk-go-v2 service/cloudfront), in the
// multi-tenant distribution and connection group the stack created.
// Calls may be retried by the engine on a later run; none may be assumed
// to have taken effect if it returned an error. It must be safe for
// concurrent use: Run reconciles several domains at once. (The SDK's
// standard retryer retries throttling errors with back-off:
// https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html)
type CloudFront interface {
	// GetTenant returns the tenant named name (GetDistributionTenant,
	// with the name as identifier); ErrNotFound (wrapped) if none.
	GetTenant(ctx context.Context, name string) (Tenant, error)
	// CreateTenant creates the tenant named name serving domain
	// (CreateDistributionTenant: Domains [domain], ManagedCertificateRequest
	// {ValidationTokenHost: cloudfront, PrimaryDomainName: domain}).
	// https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_CreateDistributionTenant.html
	// https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_ManagedCertificateRequest.html
	CreateTenant(ctx context.Context, name, domain string) (Tenant, error)
	// Certificate returns the tenant's managed certificate request
	// (GetManagedCertificateDetails, Identifier: the tenant's id);
	// ErrNotFound (wrapped) if it has none.
	Certificate(ctx context.Context, t Tenant) (ManagedCertificate, error)
	// RequestCertificate asks for a new managed certificate for domain
	// after the previous request failed: CloudFront does not retry a
	// failed request (UpdateDistributionTenant with a
	// ManagedCertificateRequest, IfMatch: t.ETag).
	RequestCertificate(ctx context.Context, t Tenant, domain string) error
	// AttachCertificate attaches an issued certificate to the tenant
	// (UpdateDistributionTenant, Customizations.Certificate.Arn: arn,
	// IfMatch: t.ETag); until then the tenant's domain is inactive.
	// https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_UpdateDistributionTenant.html
	AttachCertificate(ctx context.Context, t Tenant, arn string) error
}

// Resolver answers, as a recursive resolver would, what name is a CNAME
// to: the target of the CNAME at name (lower case, no final dot), or ""
// when name has no CNAME (including when it does not exist). An error is
// a failed lookup, not an absent record. It must be safe for concurrent use.
type Resolver interface {
	CNAME(ctx context.Context, name string) (string, error)
}

// States keeps each domain's last State. Get returns false when the
// domain has none. It must be safe for concurrent use.
type States interface {
	Get(ctx context.Context, domain string) (State, bool, error)
	Put(ctx context.Context, s State) error
}

// Domain is one delegated client domain to reconcile.
type Domain struct {
	Name string // the client's domain, A-label
	// PolicyHost is mta-sts.<Name>, Target the operator's stable name it
	// must be a CNAME to (config.Delegated.PolicyHost).
	PolicyHost, Target string
	// Tenant is the name of its distribution tenant, unique and stable
	// per domain (TenantName).
	Tenant string
}

// TenantName is the distribution tenant's name for a client domain with
// the given delegation key (config.DelegationKey): "ststack-" and the key.
func TenantName(key string) string { return "ststack-" + key }

// State is where one domain stands after a run.
type State struct {
	Domain string `json:"domain"`
	Phase  Phase  `json:"phase"`
	// Detail says what the phase waits for or what is wrong, for people.
	Detail string `json:"detail"`
	// CNAME is what mta-sts.<domain> was a CNAME to at the last run ("":
	// none).
	CNAME          string `json:"cname,omitempty"`
	TenantID       string `json:"tenant_id,omitempty"`
	CertificateARN string `json:"certificate_arn,omitempty"`
	// CertificateStatus is the managed certificate's last status.
	CertificateStatus string `json:"certificate_status,omitempty"`
	// Requests counts the certificate requests since the CNAME last
	// changed; LastRequest is the latest.
	Requests    int       `json:"requests,omitempty"`
	LastRequest time.Time `json:"last_request,omitzero"`
	// Since is when the domain entered Phase; Checked the last run.
	Since   time.Time `json:"since"`
	Checked time.Time `json:"checked"`
}

// Engine reconciles delegated domains. Its zero durations take the
// defaults.
type Engine struct {
	CloudFront CloudFront
	DNS        Resolver
	States     States
	Now        func() time.Time // nil: time.Now
	// RetryInterval and MaxAttempts bound certificate requests (0:
	// DefaultRetryInterval, DefaultMaxAttempts).
	RetryInterval time.Duration
	MaxAttempts   int
	// Concurrency is how many domains Run reconciles at once (0:
	// DefaultConcurrency).
	Concurrency int
}

// Run reconciles every domain, Concurrency at a time, and returns their
// states in the order of domains. A domain's failure is its state
// (PhaseError); the error returned joins only the failures to read or
// save states, in the order of domains, after every domain was
// reconciled.
func (e *Engine) Run(ctx context.Context, domains []Domain) ([]State, error) {
	out := make([]State, len(domains))
	errs := make([]error, len(domains))
	n := e.Concurrency
	if n <= 0 {
		n = DefaultConcurrency
	}
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	for i, d := range domains {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			out[i], errs[i] = e.Reconcile(ctx, d)
		}()
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// Reconcile takes one domain one step further, saves its state and
// returns it. The error is only a failure to read or save the state.
func (e *Engine) Reconcile(ctx context.Context, d Domain) (State, error) {
	now := e.now()
	prev, _, err := e.States.Get(ctx, d.Name)
	if err != nil {
		return State{}, fmt.Errorf("reconcile %s: reading state: %w", d.Name, err)
	}
	s := e.step(ctx, d, prev, now)
	s.Domain, s.Checked = d.Name, now
	if s.Phase != prev.Phase || prev.Since.IsZero() {
		s.Since = now
	} else {
		s.Since = prev.Since
	}
	if err := e.States.Put(ctx, s); err != nil {
		return s, fmt.Errorf("reconcile %s: saving state: %w", d.Name, err)
	}
	return s, nil
}

// step derives the domain's phase from DNS and CloudFront and performs at
// most one change: create the tenant, request a certificate, or attach
// one. prev carries the request count and time across runs.
func (e *Engine) step(ctx context.Context, d Domain, prev State, now time.Time) State {
	s := State{TenantID: prev.TenantID, CertificateARN: prev.CertificateARN,
		CertificateStatus: prev.CertificateStatus, Requests: prev.Requests, LastRequest: prev.LastRequest}
	fail := func(what string, err error) State {
		s.Phase, s.Detail = PhaseError, what+": "+oneLine(err)+" (retried at the next run)"
		return s
	}

	cname, err := e.DNS.CNAME(ctx, d.PolicyHost)
	if err != nil {
		return fail("DNS lookup of "+d.PolicyHost, err)
	}
	s.CNAME = normalize(cname)
	if s.CNAME != prev.CNAME && prev.CNAME != "" {
		s.Requests = 0 // the client changed its record: requests start over
	}
	if phase, detail, ok := cnamePhase(d, s.CNAME); !ok {
		s.Phase, s.Detail = phase, detail
		return s
	}

	t, err := e.CloudFront.GetTenant(ctx, d.Tenant)
	switch {
	case errors.Is(err, ErrNotFound):
		// Created only now that the CNAME resolves to CloudFront: before,
		// CloudFront refuses a domain it cannot verify.
		t, err = e.CloudFront.CreateTenant(ctx, d.Tenant, d.PolicyHost)
		if err != nil {
			return fail("creating the distribution tenant", err)
		}
		s.TenantID, s.CertificateARN, s.CertificateStatus = t.ID, "", CertPendingValidation
		s.Requests, s.LastRequest = s.Requests+1, now
		s.Phase = PhaseCertificatePending
		s.Detail = "tenant created; ACM validates the certificate once the CNAME reaches CloudFront (up to 72 h)"
		return s
	case err != nil:
		return fail("reading the distribution tenant", err)
	}
	s.TenantID = t.ID

	c, err := e.CloudFront.Certificate(ctx, t)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fail("reading the managed certificate", err)
	}
	s.CertificateStatus = c.Status
	if t.CertificateARN != "" && (c.ARN == "" || t.CertificateARN == c.ARN) {
		// Attached; CloudFront renews a managed certificate itself.
		s.CertificateARN = t.CertificateARN
		s.Phase, s.Detail = PhaseServing, "serving with its managed certificate"
		return s
	}
	switch c.Status {
	case CertIssued:
		if err := e.CloudFront.AttachCertificate(ctx, t, c.ARN); err != nil {
			return fail("attaching the issued certificate", err)
		}
		s.CertificateARN = c.ARN
		s.Phase, s.Detail = PhaseServing, "certificate issued and attached"
		return s
	case CertPendingValidation:
		s.Phase = PhaseCertificatePending
		s.Detail = "ACM is validating the certificate over HTTP through CloudFront"
		if !s.LastRequest.IsZero() {
			s.Detail += fmt.Sprintf(" (requested %s ago; ACM gives up after 72 h)", now.Sub(s.LastRequest).Truncate(time.Minute))
		}
		return s
	}
	// No request, or one that ended without a certificate: CloudFront does
	// not retry it, so ask again, within bounds.
	status := c.Status
	if status == "" {
		status = "no certificate request"
	}
	if s.Requests >= e.maxAttempts() {
		s.Phase = PhaseError
		s.Detail = fmt.Sprintf("certificate %s after %d requests; check the client's CAA records (they must allow amazon.com) and CNAME, then clear this domain's state", status, s.Requests)
		return s
	}
	if !s.LastRequest.IsZero() && now.Sub(s.LastRequest) < e.retryInterval() {
		s.Phase = PhaseCertificatePending
		s.Detail = fmt.Sprintf("certificate %s; a new request follows after %s", status, s.LastRequest.Add(e.retryInterval()).UTC().Format(time.RFC3339))
		return s
	}
	if err := e.CloudFront.RequestCertificate(ctx, t, d.PolicyHost); err != nil {
		return fail("requesting a new certificate", err)
	}
	s.Requests, s.LastRequest = s.Requests+1, now
	s.CertificateStatus = CertPendingValidation
	s.Phase = PhaseCertificatePending
	s.Detail = fmt.Sprintf("certificate %s: requested again (request %d)", status, s.Requests)
	return s
}

// cnamePhase judges the CNAME at d's policy host (cname, normalized; "":
// none): ok when it is the operator's name, else the phase and detail to
// show (waiting for the client's record, or pointing elsewhere).
func cnamePhase(d Domain, cname string) (Phase, string, bool) {
	want := normalize(d.Target)
	switch cname {
	case want:
		return "", "", true
	case "":
		return PhaseWaitingForCNAME, fmt.Sprintf("waiting for the client's record %s. CNAME %s.", d.PolicyHost, want), false
	}
	return PhaseCNAMEElsewhere, fmt.Sprintf("%s is a CNAME to %s; the client must change it to %s", d.PolicyHost, cname, want), false
}

func (e *Engine) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

func (e *Engine) retryInterval() time.Duration {
	if e.RetryInterval > 0 {
		return e.RetryInterval
	}
	return DefaultRetryInterval
}

func (e *Engine) maxAttempts() int {
	if e.MaxAttempts > 0 {
		return e.MaxAttempts
	}
	return DefaultMaxAttempts
}

func normalize(name string) string { return strings.TrimSuffix(strings.ToLower(name), ".") }

// oneLine keeps the first line of an error's text, at most 200 bytes.
func oneLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// FromConfig returns the delegated domains of cfg, in file order.
func FromConfig(cfg *config.Config) []Domain {
	var out []Domain
	for _, d := range cfg.Domains {
		del, ok := cfg.Delegated(d)
		if !ok {
			continue
		}
		out = append(out, Domain{Name: d.Name, PolicyHost: del.PolicyHost.Name, Target: del.PolicyHost.Target, Tenant: TenantName(del.Key)})
	}
	return out
}
