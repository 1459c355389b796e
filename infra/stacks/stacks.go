package stacks

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
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
	fnPolicy     = "policy"
	fnTLSRPT     = "tlsrpt"
	fnChecker    = "checker"
	fnReconciler = "reconciler"
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
	// Main is the stack in Config.Region; Edge the us-east-1 stack
	// deployed after it, with the per-domain resources in nested stacks
	// (Shards, by config.DomainShard).
	Main   awscdk.Stack
	Edge   awscdk.Stack
	Shards map[int]awscdk.NestedStack

	assets            map[string]string                            // function → staged asset directory
	outputID          map[string]string                            // domain → its part of output ids
	edgeParam         string                                       // SSM parameter (Config.Region) with the ids the edge stack needs
	edge              edgeRefs                                     // those ids, read in the edge stack
	certificates      map[string]awscertificatemanager.Certificate // domain → its certificate (route53, external)
	tenants           map[string]awscloudfront.CfnDistributionTenant
	functions         map[string]awslambda.Function
	distribution      awscloudfront.Distribution
	connectionGroup   awscloudfront.CfnConnectionGroup
	invalidation      invalidationParts
	api               awsapigatewayv2.HttpApi
	ruaHTTPS          string                   // the https rua URL; may hold tokens
	ruaTokens         map[string]int           // the tokens in ruaHTTPS → their longest resolved length
	reportsReady      []constructs.IDependable // what must exist before the rua is published
	bucket            awss3.Bucket
	table             awsdynamodb.Table
	topic             awssns.Topic
	schedule          awsevents.Rule
	reconcileSchedule awsevents.Rule              // nil without delegated domains
	mail              mailParts                   // reports by e-mail (mail.go)
	crLogs            map[string]awslogs.LogGroup // stack path → log group of its AwsCustomResource function
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
	// The AWS limits this many domains reach (resources, outputs and
	// template size of each shard, the custom resource response):
	// refused here with the file and what to do, not by the CDK's synth
	// (a panic) or by CloudFormation halfway through a deployment. The
	// warnings (default quotas to raise) are `ststack config validate`'s.
	if _, err := cfg.CheckLimits(); err != nil {
		return nil, err
	}
	d := &Deployment{Config: cfg, assets: map[string]string{}, functions: map[string]awslambda.Function{},
		outputID: outputIDs(cfg.Domains), Shards: map[int]awscdk.NestedStack{},
		certificates: map[string]awscertificatemanager.Certificate{}, tenants: map[string]awscloudfront.CfnDistributionTenant{}}
	for _, fn := range functionNames(cfg) {
		dir, err := stageFunction(opts, fn, data)
		if err != nil {
			return nil, err
		}
		d.assets[fn] = dir
	}

	name := cfg.StackName()
	d.edgeParam = "/ststack/" + name + "/edge"
	d.Main = awscdk.NewStack(app, jsii.String(name), &awscdk.StackProps{
		Env:         env(opts.Account, cfg.Region),
		Description: jsii.String("ststack " + cfg.Organization + ": MTA-STS (RFC 8461) and SMTP TLS Reporting (RFC 8460)"),
	})
	d.Edge = awscdk.NewStack(app, jsii.String(name+"-edge"), &awscdk.StackProps{
		Env:         env(opts.Account, CertificateRegion),
		Description: jsii.String("ststack " + cfg.Organization + ": certificates, CloudFront tenants and DNS records of every domain (us-east-1)"),
	})
	// The edge stack's tenants need the distribution, and a new policy's
	// _mta-sts id is published only once the policy function serves it.
	d.Edge.AddStackDependency(d.Main, jsii.String("tenants of the distribution; new ids after new policies"))

	d.addReports()
	d.addMail() // mail.go
	d.addPolicy()
	d.addReconciler() // reconciler.go
	d.addChecker()
	d.addOperations()
	d.addMailOperations() // mail.go
	d.addOutputs()
	d.addEdge() // edge.go
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

// duration converts a Go duration to a CDK one (whole seconds).
func duration(t time.Duration) awscdk.Duration {
	return awscdk.Duration_Seconds(jsii.Number(t.Seconds()))
}
