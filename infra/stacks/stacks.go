package stacks

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscertificatemanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfront"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/ststack/ststack/internal/config"
)

// Fixed facts of the deployment.
const (
	// CertificateRegion is where CloudFront takes its certificates from.
	CertificateRegion = "us-east-1"
	// PolicyPath is where senders fetch the policy (RFC 8461 §3.3).
	PolicyPath = "/.well-known/mta-sts.txt"
	// ReportsPath is the route of the HTTPS rua endpoint (RFC 8460 §3).
	ReportsPath = "/v1/tlsrpt"
	// ConfigFile is the name of the organisation file inside every
	// function's asset; STSTACK_CONFIG points to it.
	ConfigFile = "ststack.yaml"

	// PolicyCacheTTL equals the policy handler's Cache-Control max-age:
	// senders must not see an old policy under a new id for long.
	PolicyCacheTTL = 300 * time.Second
	// ErrorCacheTTL is how long CloudFront keeps an error answer.
	ErrorCacheTTL = 5 * time.Second
	// RecordTTL is the TTL of every record the stack publishes.
	RecordTTL = 300 * time.Second
	// RawReportDays is how long raw reports stay in the bucket.
	RawReportDays = 400
	// ReportsRateLimit and ReportsBurstLimit throttle the report API
	// (requests per second); real senders post a few reports a day.
	ReportsRateLimit  = 10
	ReportsBurstLimit = 20
	// maxConfigSize bounds the organisation file read from disk.
	maxConfigSize = config.MaxFileSize
)

// The functions, named as their directories under Options.LambdaDir.
const (
	fnPolicy  = "policy"
	fnTLSRPT  = "tlsrpt"
	fnChecker = "checker"
)

// Options says where New finds what it deploys.
type Options struct {
	// ConfigPath is the organisation file. New parses it and copies it
	// into every function's asset as ConfigFile.
	ConfigPath string
	// LambdaDir holds policy/bootstrap, tlsrpt/bootstrap and
	// checker/bootstrap (the Makefile's build/lambda).
	LambdaDir string
	// StagingDir is an existing writable directory where each function's
	// asset directory is assembled; it must exist until the app is
	// synthesized.
	StagingDir string
	// Account is the AWS account id of both stacks. Empty leaves them
	// account-agnostic, so a synth needs no credentials.
	Account string
}

// Deployment is the stacks of one organisation and the constructs that
// tests and outputs refer to.
type Deployment struct {
	Config *config.Config
	// Certificate is the us-east-1 stack; Main the stack in
	// Config.Region.
	Certificate awscdk.Stack
	Main        awscdk.Stack

	assets       map[string]string // function → staged asset directory
	outputID     map[string]string // domain → its part of output ids
	certificate  awscertificatemanager.Certificate
	certHash     string // changes when the certificate's names change
	certParam    string // SSM parameter (us-east-1) holding the certificate ARN
	functions    map[string]awslambda.Function
	distribution awscloudfront.Distribution
	invalidation invalidationParts
	api          awsapigatewayv2.HttpApi
	ruaHTTPS     string                   // the https rua URL; may hold tokens
	ruaTokens    map[string]int           // the tokens in ruaHTTPS → their longest resolved length
	reportsReady []constructs.IDependable // what must exist before the rua is published
	bucket       awss3.Bucket
	table        awsdynamodb.Table
	topic        awssns.Topic
	schedule     awsevents.Rule
	mail         mailParts                   // reports by e-mail (mail.go)
	crLogs       map[string]awslogs.LogGroup // stack path → log group of its AwsCustomResource function
}

// New adds the stacks of the organisation in opts.ConfigPath to app, and
// the cdk-nag AwsSolutions checks. It returns an error, naming the file or
// field, for an invalid organisation file or a missing bootstrap, and the
// CDK's own error (a panic from jsii) for anything it refuses.
func New(app awscdk.App, opts Options) (_ *Deployment, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("stacks: %v", r)
		}
	}()
	data, err := readFile(opts.ConfigPath)
	if err != nil {
		return nil, err
	}
	cfg, err := config.Parse(data, opts.ConfigPath)
	if err != nil {
		return nil, err
	}
	// The AWS limits this many domains reach (CloudFront aliases, ACM
	// names, stack resources and outputs, the custom resource response):
	// refused here with the file and what to do, not by the CDK's synth
	// (a panic) or by CloudFormation halfway through a deployment. The
	// warnings (default quotas to raise) are `ststack config validate`'s.
	if _, err := cfg.CheckLimits(); err != nil {
		return nil, err
	}
	// Client domains (dns: delegated) need the CloudFront multi-tenant
	// distribution and the reconciler of issue 16, which the stacks do not
	// build yet: without this they would be published as Route53 domains of
	// a zone with no id and fail in CloudFormation.
	for _, dom := range cfg.Domains {
		if dom.DNS.Delegated {
			return nil, fmt.Errorf("%s: domain %s: dns: delegated client domains are served (ststack serve) and checked (ststack check) but the stack cannot deploy them yet; give the domain dns: route53 or external, or leave it out of the deployed file", opts.ConfigPath, dom.Name)
		}
	}
	d := &Deployment{Config: cfg, assets: map[string]string{}, functions: map[string]awslambda.Function{},
		outputID: outputIDs(cfg.Domains)}
	for _, fn := range functionNames(cfg) {
		dir, err := stageFunction(opts, fn, data)
		if err != nil {
			return nil, err
		}
		d.assets[fn] = dir
	}

	name := cfg.StackName()
	d.certParam = "/ststack/" + name + "/certificate-arn"
	d.Certificate = awscdk.NewStack(app, jsii.String(name+"-certificate"), &awscdk.StackProps{
		Env:         env(opts.Account, CertificateRegion),
		Description: jsii.String("ststack " + cfg.Organization + ": the CloudFront certificate of the MTA-STS policy hosts (us-east-1)"),
	})
	d.Main = awscdk.NewStack(app, jsii.String(name), &awscdk.StackProps{
		Env:         env(opts.Account, cfg.Region),
		Description: jsii.String("ststack " + cfg.Organization + ": MTA-STS (RFC 8461) and SMTP TLS Reporting (RFC 8460)"),
	})
	d.Main.AddStackDependency(d.Certificate, jsii.String("CloudFront uses the certificate"))

	d.addCertificate()
	d.addReports()
	d.addMail() // mail.go
	d.addPolicy()
	d.addDNS()
	d.addChecker()
	d.addOperations()
	d.addMailOperations() // mail.go
	d.addOutputs()
	d.limitAsyncRetries()
	addNagChecks(app)
	d.suppressNag()
	return d, nil
}

func env(account, region string) *awscdk.Environment {
	e := &awscdk.Environment{Region: jsii.String(region)}
	if account != "" {
		e.Account = jsii.String(account)
	}
	return e
}

// readFile reads at most maxConfigSize+1 bytes, so that config.Parse
// reports an oversized file as such.
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, maxConfigSize+1))
}

// stageFunction assembles the asset directory of function fn: the
// bootstrap the Makefile built, and the organisation file as ConfigFile.
func stageFunction(opts Options, fn string, configData []byte) (string, error) {
	src := filepath.Join(opts.LambdaDir, fn, "bootstrap")
	in, err := os.Open(src)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("%s: missing; build the functions first (make lambdas)", src)
		}
		return "", err
	}
	defer in.Close()
	dir := filepath.Join(opts.StagingDir, fn)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	out, err := os.OpenFile(filepath.Join(dir, "bootstrap"), os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o755)
	if err != nil {
		return "", err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return "", fmt.Errorf("%s: %w", src, err)
	}
	if err := out.Close(); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, ConfigFile), configData, 0o644); err != nil {
		return "", err
	}
	return dir, nil
}

// shortHash is a stable 16-hex-digit digest of parts.
func shortHash(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\n")))
	return hex.EncodeToString(sum[:8])
}

// policyHosts returns mta-sts.<domain> for every domain, sorted: the
// certificate (its DomainName is the first host, its identity the list)
// and the distribution's aliases must not change when the domains of the
// file are merely reordered.
func (d *Deployment) policyHosts() []string {
	hosts := make([]string, len(d.Config.Domains))
	for i, dom := range d.Config.Domains {
		hosts[i] = dom.PolicyHost()
	}
	sort.Strings(hosts)
	return hosts
}

// duration converts a Go duration to a CDK one (whole seconds).
func duration(t time.Duration) awscdk.Duration {
	return awscdk.Duration_Seconds(jsii.Number(t.Seconds()))
}
