package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/ststack/ststack/internal/config"
	"github.com/ststack/ststack/internal/dashboard"
	"github.com/ststack/ststack/internal/ingest"
	"github.com/ststack/ststack/internal/reconcile"
	"github.com/ststack/ststack/internal/sample"
	"github.com/ststack/ststack/internal/store/awsstore"
	"github.com/ststack/ststack/internal/store/embedded"
)

// accessFlags are the flags of every verb that serves the dashboard.
type accessFlags struct {
	allowRemote *bool
	token       *string
}

func addAccessFlags(fs *flag.FlagSet) accessFlags {
	return accessFlags{
		allowRemote: fs.Bool("allow-remote", false, "allow --addr beyond loopback (needs a token)"),
		token: fs.String("token", "", "access token of the dashboard and its API, at least 16 bytes (default $"+
			dashboard.EnvToken+"); required with --allow-remote"),
	}
}

// dashAccess is how the dashboard is guarded: its token, and whether its
// cookie is always Secure.
type dashAccess struct {
	token string
	// secureCookie: with --allow-remote the dashboard is meant to be
	// reached through a TLS proxy, so its cookie is Secure whatever the
	// proxy says (dashboard.Options.SecureCookie); without, only a proxy
	// on this machine reaches it, and its X-Forwarded-Proto is believed.
	secureCookie bool
}

// check applies dashboard.CheckBind to addr and returns the access.
func (a accessFlags) check(addr string) (dashAccess, error) {
	tok := *a.token
	if tok == "" {
		tok = os.Getenv(dashboard.EnvToken)
	}
	return dashAccess{token: tok, secureCookie: *a.allowRemote}, dashboard.CheckBind(addr, *a.allowRemote, tok)
}

// newDashboard builds the dashboard handler of cfg over st; del gives the
// states of delegated client domains (nil: none).
func newDashboard(cfg *config.Config, st dashboard.Store, del dashboard.DelegationStates, acc dashAccess, source, ruaHTTPS string, log *slog.Logger) (*dashboard.Handler, error) {
	return dashboard.New(dashboard.Options{Config: cfg, Store: st, Delegation: del, Token: acc.token, SecureCookie: acc.secureCookie,
		Source: source, RUAHTTPS: ruaHTTPS, Logger: log})
}

// delegationLookupTimeout bounds the DNS exchange behind a delegated
// domain's page when no reconciler runs (a page must not hang on DNS).
const delegationLookupTimeout = 2 * time.Second

// lookupDelegation is where a local dashboard (serve, dashboard --data)
// reads the state of delegated client domains: no reconciler runs
// locally, so each domain page asks DNS now what the client's
// mta-sts.<domain> is a CNAME to (reconcile.LookupStates), at resolver
// ("HOST:PORT"; empty: the system's). nil when cfg has no delegated
// domain.
func lookupDelegation(cfg *config.Config, resolver string) dashboard.DelegationStates {
	domains := reconcile.FromConfig(cfg)
	if len(domains) == 0 {
		return nil
	}
	var servers []string
	if resolver != "" {
		servers = []string{resolver}
	}
	return reconcile.LookupStates{DNS: reconcile.DNSResolver{Servers: servers, Timeout: delegationLookupTimeout}, Domains: domains}
}

// loadSampleData ingests the sample reports and check results of package
// sample into st, through package ingest as real reports are.
func loadSampleData(ctx context.Context, st *embedded.Store, cfg *config.Config, env *cliEnv, log *slog.Logger) error {
	in, err := ingest.New(st, ingest.Options{Domains: cfg.DomainNames(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	l, err := sample.Load(ctx, in, st, cfg, sample.Options{})
	if err != nil {
		return err
	}
	log.Info("sample data loaded", "reports", l.Reports, "new", l.Created, "checks", l.Checks)
	fmt.Fprintf(env.stdout, "ststack: sample data: %d reports (%d new) and %d check results, marked \"%s\"\n", l.Reports, l.Created, l.Checks, sample.Marker)
	return nil
}

// dashboardAddr is where `ststack dashboard` listens by default, beside
// the default of `ststack serve`.
const dashboardAddr = "127.0.0.1:8444"

// runDashboard implements `ststack dashboard`.
func runDashboard(ctx context.Context, args []string, env *cliEnv) int {
	fs := newFlagSet(env, "dashboard", "--config FILE (--aws [--stack NAME | --bucket NAME --table NAME] | --data DIR [--resolver HOST:PORT]) [--addr HOST:PORT]",
		`Serves the dashboard (see docs/dashboard.md) on this machine:
  --aws   reads a deployed stack's S3 bucket and DynamoDB table with your AWS
          credentials (the SDK's default chain: AWS_PROFILE, SSO, environment).
          Their names come from the stack's outputs ReportsBucket and
          ReportsTable, else from its resources; or give --bucket and --table.
  --data  reads the data directory of 'ststack serve' (not while it runs).
It listens on loopback only unless --allow-remote and a token are given.`)
	cfgPath := fs.String("config", "ststack.yaml", "the organisation file")
	useAWS := fs.Bool("aws", false, "read a deployed stack (S3 and DynamoDB)")
	stack := fs.String("stack", "", "CloudFormation stack name (default: derived from the organisation, as the CDK app names it)")
	region := fs.String("region", "", "AWS region of the stack (default: region of the organisation file)")
	bucket := fs.String("bucket", "", "the reports bucket, instead of looking it up in the stack")
	table := fs.String("table", "", "the DynamoDB table, instead of looking it up in the stack")
	data := fs.String("data", "", "data directory of an embedded store (default .ststack-data, without --aws)")
	addr := fs.String("addr", dashboardAddr, "address to listen on")
	resolver := fs.String("resolver", "", "without --aws: ask this DNS server (`HOST:PORT`) for the CNAMEs of delegated client domains instead of the system's")
	access := addAccessFlags(fs)
	pos, code := parseArgs(fs, args, env)
	if code >= 0 {
		return code
	}
	if len(pos) != 0 {
		return usageError(fs, env, "unexpected argument %q", pos[0])
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	switch {
	case *useAWS && set["data"]:
		return usageError(fs, env, "give either --aws or --data")
	case !*useAWS && (set["stack"] || set["bucket"] || set["table"] || set["region"]):
		return usageError(fs, env, "--stack, --bucket, --table and --region need --aws")
	case set["bucket"] != set["table"]:
		return usageError(fs, env, "give --bucket and --table together")
	case set["stack"] && set["bucket"]:
		return usageError(fs, env, "give either --stack or --bucket and --table")
	case *useAWS && set["resolver"]:
		return usageError(fs, env, "--resolver is for a local dashboard: with --aws the states come from the reconciler")
	}
	if *resolver != "" {
		if _, _, err := net.SplitHostPort(*resolver); err != nil {
			return usageError(fs, env, "--resolver: %v", err)
		}
	}
	acc, err := access.check(*addr)
	if err != nil {
		return usageError(fs, env, "%v", err)
	}
	log := slog.New(slog.NewTextHandler(env.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	cfg, err := config.Load(*cfgPath)
	if err != nil {
		for _, m := range splitJoined(err) {
			fmt.Fprintf(env.stderr, "ststack dashboard: %s\n", m)
		}
		return exitInvalid
	}

	var (
		st       dashboard.Store
		del      dashboard.DelegationStates
		source   string
		ruaHTTPS string
	)
	if *useAWS {
		s, desc, rua, err := openAWS(ctx, cfg, *stack, *region, *bucket, *table)
		if err != nil {
			fmt.Fprintf(env.stderr, "ststack dashboard: %v\n", err)
			return exitInvalid
		}
		st, source, ruaHTTPS = s, desc, rua
		// The reconciler (functions/reconciler) keeps each delegated
		// domain's state in the table.
		if len(reconcile.FromConfig(cfg)) > 0 {
			del = reconcile.JSONStates(s)
		}
	} else {
		es, desc, err := openEmbedded(*data)
		if err != nil {
			fmt.Fprintf(env.stderr, "ststack dashboard: %v\n", err)
			return exitInvalid
		}
		defer es.Close()
		st, source = es, desc
		del = lookupDelegation(cfg, *resolver)
	}
	h, err := newDashboard(cfg, st, del, acc, source, ruaHTTPS, log)
	if err != nil {
		fmt.Fprintf(env.stderr, "ststack dashboard: %v\n", err)
		return exitInvalid
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(env.stderr, "ststack dashboard: %v\n", err)
		return exitInvalid
	}
	fmt.Fprintf(env.stdout, "ststack: dashboard of %d domain(s) of %q on http://%s/ (data: %s)\n", len(cfg.Domains), cfg.Organization, ln.Addr(), source)
	if acc.token != "" {
		fmt.Fprintf(env.stdout, "Open it with ?token=… once (the token of --token or $%s); API clients send Authorization: Bearer ….\n", dashboard.EnvToken)
	}
	return serveUntilDone(ctx, ln, h, log, env, "dashboard")
}

// openEmbedded opens the embedded store of a command that reads what
// ststack serve stored: in dir, .ststack-data when dir is empty. The
// folder must exist, so that a mistyped --data is an error rather than a
// new empty store. It also returns a description of the store for the
// command's output.
func openEmbedded(dir string) (*embedded.Store, string, error) {
	if dir == "" {
		dir = ".ststack-data"
	}
	if _, err := os.Stat(dir); err != nil {
		return nil, "", fmt.Errorf("data directory %s: %v", dir, errors.Unwrap(err))
	}
	es, err := embedded.Open(dir)
	if err != nil {
		return nil, "", err
	}
	return es, "embedded store in " + dir, nil
}

// Stack outputs the dashboard reads (the CDK app's names).
const (
	outputBucket   = "ReportsBucket"
	outputTable    = "ReportsTable"
	outputEndpoint = "ReportEndpoint"
)

// openAWS returns the store of a deployed stack, a description of it and
// the https rua it publishes ("" when unknown).
func openAWS(ctx context.Context, cfg *config.Config, stack, region, bucket, table string) (*awsstore.Store, string, string, error) {
	if region == "" {
		region = cfg.Region
	}
	ac, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(region))
	if err != nil {
		return nil, "", "", fmt.Errorf("AWS configuration: %w", err)
	}
	var rua string
	if bucket == "" {
		if stack == "" {
			stack = cfg.StackName()
		}
		si, err := lookupStack(ctx, cloudformation.NewFromConfig(ac), stack)
		if err != nil {
			return nil, "", "", fmt.Errorf("stack %s in %s: %w", stack, region, err)
		}
		bucket, table, rua = si.bucket, si.table, si.endpoint
	}
	desc := fmt.Sprintf("s3://%s and DynamoDB table %s (%s)", bucket, table, region)
	if stack != "" {
		desc = "stack " + stack + ": " + desc
	}
	s3c := s3.NewFromConfig(ac, func(o *s3.Options) {
		// Bodies are checked by parsing them; S3-compatible stand-ins send
		// no checksum, and the SDK would log each one.
		o.DisableLogOutputChecksumValidationSkipped = true
	})
	return awsstore.New(s3c, dynamodb.NewFromConfig(ac), bucket, table), desc, rua, nil
}

// cfnAPI is the part of *cloudformation.Client lookupStack uses.
type cfnAPI interface {
	DescribeStacks(ctx context.Context, in *cloudformation.DescribeStacksInput, opts ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error)
	ListStackResources(ctx context.Context, in *cloudformation.ListStackResourcesInput, opts ...func(*cloudformation.Options)) (*cloudformation.ListStackResourcesOutput, error)
}

// stackInfo is what the dashboard needs of a deployed stack.
type stackInfo struct {
	bucket, table, endpoint string
}

// maxStackPages bounds the pages of ListStackResources read.
const maxStackPages = 50

// lookupStack finds the report bucket and table of a stack: from its
// outputs ReportsBucket and ReportsTable, else from its resources (the one
// DynamoDB table; the S3 bucket whose logical id starts with "Reports").
func lookupStack(ctx context.Context, api cfnAPI, stack string) (stackInfo, error) {
	out, err := api.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(stack)})
	if err != nil {
		return stackInfo{}, fmt.Errorf("describe: %w (give --stack, --region, or --bucket and --table)", err)
	}
	if len(out.Stacks) != 1 {
		return stackInfo{}, fmt.Errorf("describe: %d stacks, want 1", len(out.Stacks))
	}
	var si stackInfo
	for _, o := range out.Stacks[0].Outputs {
		switch aws.ToString(o.OutputKey) {
		case outputBucket:
			si.bucket = aws.ToString(o.OutputValue)
		case outputTable:
			si.table = aws.ToString(o.OutputValue)
		case outputEndpoint:
			si.endpoint = aws.ToString(o.OutputValue)
		}
	}
	if si.bucket != "" && si.table != "" {
		return si, nil
	}
	var tables, buckets, reportBuckets []string
	in := &cloudformation.ListStackResourcesInput{StackName: aws.String(stack)}
	for page := 0; ; page++ {
		if page == maxStackPages {
			return stackInfo{}, fmt.Errorf("more than %d pages of resources", maxStackPages)
		}
		lr, err := api.ListStackResources(ctx, in)
		if err != nil {
			return stackInfo{}, fmt.Errorf("list resources: %w", err)
		}
		for _, r := range lr.StackResourceSummaries {
			id, name := aws.ToString(r.LogicalResourceId), aws.ToString(r.PhysicalResourceId)
			switch aws.ToString(r.ResourceType) {
			case "AWS::DynamoDB::Table":
				tables = append(tables, name)
			case "AWS::S3::Bucket":
				buckets = append(buckets, name)
				if strings.HasPrefix(id, "Reports") {
					reportBuckets = append(reportBuckets, name)
				}
			}
		}
		if lr.NextToken == nil {
			break
		}
		in.NextToken = lr.NextToken
	}
	if si.table == "" {
		if len(tables) != 1 {
			return stackInfo{}, fmt.Errorf("%d DynamoDB tables (%s), want 1: give --bucket and --table", len(tables), strings.Join(tables, ", "))
		}
		si.table = tables[0]
	}
	if si.bucket == "" {
		switch {
		case len(reportBuckets) == 1:
			si.bucket = reportBuckets[0]
		case len(buckets) == 1:
			si.bucket = buckets[0]
		default:
			return stackInfo{}, fmt.Errorf("no single reports bucket among %d S3 buckets: give --bucket and --table", len(buckets))
		}
	}
	return si, nil
}
