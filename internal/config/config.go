package config

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"github.com/ststack/ststack/internal/mtasts"
	"github.com/ststack/ststack/internal/tlsrpt"
)

// Limits and defaults of the organisation file.
const (
	// MaxFileSize bounds the file before it is parsed.
	MaxFileSize = 1 << 20
	// MaxDomains bounds the number of domains in one file (one stack).
	MaxDomains = 1000

	// DefaultMode and DefaultMaxAge complete a policy that neither the
	// domain nor defaults.policy sets. Testing is the mode RFC 8461 §5
	// suggests starting with; one week is a common max_age.
	DefaultMode   = mtasts.ModeTesting
	DefaultMaxAge = 604800

	// Checker defaults.
	DefaultSchedule             = "rate(1 hour)"
	DefaultReadinessWindowDays  = 14
	DefaultReadinessMinSessions = 100
	// Silent senders (checker.silence; docs/checker.md): an organisation
	// that reported regularly is silent after 3 days (or two of its
	// intervals), a domain after 7 days without any report; 60 days of
	// reports are read to learn who reports and how often.
	DefaultSilenceSenderDays   = 3
	DefaultSilenceDomainDays   = 7
	DefaultSilenceLookbackDays = 60

	// maxStackBase bounds StackName so a stack may add a suffix of its own
	// ("-certificate") and stay within CloudFormation's 128 characters.
	maxStackBase = 64
)

// Config is a validated organisation file. Build it with Load or Parse;
// every Domain in it has a complete policy that passed mtasts validation.
type Config struct {
	Organization string
	Region       string
	Domains      []Domain
	Reporting    Reporting
	Checker      Checker
	// Rollout tunes the rollout plan (rollout.go, docs/rollout.md).
	Rollout Rollout
	// Delegation is the operator's zone that client domains (dns:
	// delegated) point at; nil when the file has no delegation section.
	Delegation *Delegation

	file     string // the filename given to Parse
	warnings []Warning
}

// Domain is one mail domain and what is published for it.
type Domain struct {
	Name string // A-label, lower case, no trailing dot
	DNS  DNS
	// Policy is the policy published: for a retiring domain, the mode
	// none policy that replaces the configured one (Retire.Replaces).
	Policy mtasts.Policy
	// Retire is set while the domain is retiring (retire.go).
	Retire *Retirement
	// StageSince is 00:00 UTC of the day the domain's mode and max_age
	// were last deployed (stage_since, written by `ststack plan --apply`);
	// zero when the file does not say.
	StageSince time.Time
}

// DNS says where a domain's records are published. Either External is true
// (records are printed for the user to create), or Delegated is true (a
// client's domain: the client creates three CNAMEs into the operator's
// zone once, delegation.go), or HostedZoneID and ZoneName name the Route53
// hosted zone that holds the domain (ZoneName is the domain's name or a
// parent of it).
type DNS struct {
	HostedZoneID, ZoneName string
	External               bool
	Delegated              bool
}

// Reporting says where TLS reports are sent: the rua of the _smtp._tls TXT
// record (RFC 8460 §3).
type Reporting struct {
	HTTPS    bool         // publish the deployment's HTTPS endpoint
	Domain   string       // custom domain for the HTTPS endpoint (A-label), optional
	Mailto   string       // address for rua=mailto:, optional
	ExtraRUA []tlsrpt.RUA // further rua URIs, published as written
	Email    Email        // receiving reports e-mailed to Mailto (email.go)
	Count    Count        // which stored reports count for readiness and alerts (count.go)
}

// Checker configures the scheduled checker.
type Checker struct {
	Schedule             string // EventBridge expression: rate(…) or cron(…)
	AlertEmails          []string
	SMTPProbe            bool
	ReadinessWindowDays  int
	ReadinessMinSessions int64
	// SilenceSenderDays and SilenceDomainDays are when a regular sender,
	// and a domain, count as silent (0: never); SilenceLookbackDays is how
	// many days of reports are read to learn senders and cadences.
	SilenceSenderDays   int
	SilenceDomainDays   int
	SilenceLookbackDays int
}

// Load reads and parses the organisation file at path.
func Load(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &Error{File: path, Msg: ioMessage(err), Err: err}
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, &Error{File: path, Msg: ioMessage(err), Err: err}
	}
	return Parse(data, path)
}

// ioMessage is err's text without the path that Error already names.
func ioMessage(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Op + ": " + pe.Err.Error()
	}
	return err.Error()
}

// Parse parses and validates an organisation file; filename is used in
// error messages only. On success, Warnings holds what is allowed but
// probably not meant.
func Parse(data []byte, filename string) (*Config, error) {
	if len(data) > MaxFileSize {
		return nil, &Error{File: filename, class: ErrTooLarge,
			Msg: fmt.Sprintf("file is larger than %d bytes", MaxFileSize)}
	}
	p := &parser{file: filename}
	c := p.parse(data)
	if err := p.err(); err != nil {
		return nil, err
	}
	c.file, c.warnings = filename, p.warnings
	return c, nil
}

// Warnings returns what is allowed but probably not meant, in line order.
func (c *Config) Warnings() []Warning {
	return slices.Clone(c.warnings)
}

// Domain returns the configured domain with the given name (A-label or
// U-label, any case, optional trailing dot).
func (c *Config) Domain(name string) (Domain, bool) {
	a, err := toALabel(name)
	if err != nil {
		a = strings.ToLower(strings.TrimSuffix(name, "."))
	}
	for _, d := range c.Domains {
		if d.Name == a {
			return d, true
		}
	}
	return Domain{}, false
}

// DomainNames returns the names (A-labels) of the configured domains in
// file order.
func (c *Config) DomainNames() []string {
	names := make([]string, len(c.Domains))
	for i, d := range c.Domains {
		names[i] = d.Name
	}
	return names
}

// PolicyText is the policy file served at
// https://mta-sts.<domain>/.well-known/mta-sts.txt (RFC 8461 §3.2).
func (d Domain) PolicyText() string {
	return d.Policy.String()
}

// PolicyHost is the host name that serves the domain's policy (RFC 8461
// §3.3): mta-sts.<domain>.
func (d Domain) PolicyHost() string {
	return "mta-sts." + d.Name
}

// STSRecord is the domain's _mta-sts TXT record (RFC 8461 §3.1). Its id is
// derived from the policy text, so it changes exactly when the policy does.
func (d Domain) STSRecord() mtasts.Record {
	return mtasts.Record{Version: mtasts.Version, ID: d.Policy.ID()}
}

// TLSRPTRecord is the _smtp._tls TXT record published for every domain
// (RFC 8460 §3). Its rua list is: httpsEndpoint if reporting.https is set
// (left out when httpsEndpoint is empty, for callers that do not know the
// deployed URL), then mailto:reporting.mailto if set, then extra_rua.
func (c *Config) TLSRPTRecord(httpsEndpoint string) tlsrpt.Record {
	r := tlsrpt.Record{Version: tlsrpt.Version}
	if c.Reporting.HTTPS && httpsEndpoint != "" {
		r.RUA = append(r.RUA, tlsrpt.RUA{Scheme: "https", URI: httpsEndpoint})
	}
	if c.Reporting.Mailto != "" {
		r.RUA = append(r.RUA, mailtoRUA(c.Reporting.Mailto))
	}
	r.RUA = append(r.RUA, c.Reporting.ExtraRUA...)
	return r
}

// StackName is the CloudFormation stack name derived from the organisation:
// "ststack-" and the organisation lower-cased, accents dropped, every run of
// other characters turned into one "-", at most 64 characters in all (within
// CloudFormation's [A-Za-z][-A-Za-z0-9]{0,127}, leaving room for suffixes).
// An organisation with no ASCII letter or digit gets a short hash instead.
func (c *Config) StackName() string {
	const prefix = "ststack-"
	var b strings.Builder
	dash := false
	for _, r := range norm.NFD.String(c.Organization) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
		case r >= 'A' && r <= 'Z':
			r = unicode.ToLower(r)
		case unicode.Is(unicode.Mn, r):
			continue // combining accent dropped: é → e
		default:
			dash = b.Len() > 0
			continue
		}
		if dash {
			b.WriteByte('-')
			dash = false
		}
		b.WriteRune(r)
	}
	slug := b.String()
	if slug == "" {
		sum := sha256.Sum256([]byte(c.Organization))
		slug = hex.EncodeToString(sum[:4])
	}
	if len(slug) > maxStackBase-len(prefix) {
		slug = strings.TrimRight(slug[:maxStackBase-len(prefix)], "-")
	}
	return prefix + slug
}
