// Package lambdaenv is the one way ststack's Lambda functions read their
// environment: FromEnv reads every variable they use, checks the ones a
// function requires and the form of the others, and names the variable at
// fault. It links nothing of the AWS SDK (the policy function uses it);
// package awsenv builds the SDK configuration from the same environment.
package lambdaenv

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/ststack/ststack/internal/config"
)

// The variables the functions read besides the Lambda runtime's own.
const (
	// Config names the organisation file (config.LambdaPath).
	Config = config.EnvConfig
	// Bucket and Table are the report store: S3 bucket of raw reports,
	// DynamoDB table of facts and check results.
	Bucket = "STSTACK_BUCKET"
	Table  = "STSTACK_TABLE"
	// MailBucket and MailPrefix are where the SES receipt rule stores
	// report e-mails (mailin).
	MailBucket = "STSTACK_MAIL_BUCKET"
	MailPrefix = "STSTACK_MAIL_PREFIX"
	// DropUnsigned overrides reporting.email.drop_unsigned (mailin).
	DropUnsigned = "STSTACK_DROP_UNSIGNED"
	// TopicARN is the SNS topic of alerts (checker).
	TopicARN = "STSTACK_TOPIC_ARN"
	// RUAHTTPS is the https rua URL the deployment publishes (checker).
	RUAHTTPS = "STSTACK_RUA_HTTPS"
	// SMTPProbe overrides checker.smtp_probe (checker).
	SMTPProbe = "STSTACK_SMTP_PROBE"
	// Resolver is the "HOST:PORT" of the DNS server to ask instead of the
	// one in /etc/resolv.conf (checker, mailin).
	Resolver = "STSTACK_RESOLVER"
	// DistributionID and ConnectionGroupID are the multi-tenant
	// distribution and the connection group client domains' tenants are
	// created in (reconciler).
	DistributionID    = "STSTACK_DISTRIBUTION_ID"
	ConnectionGroupID = "STSTACK_CONNECTION_GROUP_ID"
)

// Env is a function's environment.
type Env struct {
	// ConfigPath is the organisation file: $STSTACK_CONFIG (default
	// ststack.yaml) relative to $LAMBDA_TASK_ROOT.
	ConfigPath             string
	Bucket, Table          string
	MailBucket, MailPrefix string
	TopicARN, RUAHTTPS     string
	Resolver               string
	DistributionID         string
	ConnectionGroupID      string
	// DropUnsigned and SMTPProbe are nil when not set: the organisation
	// file decides.
	DropUnsigned, SMTPProbe *bool
}

// FromEnv reads the environment through getenv (os.Getenv outside tests).
// required names the variables the function cannot run without; an error
// names those not set, or a boolean variable that is not "true" or "false"
// (or another form strconv.ParseBool takes).
func FromEnv(getenv func(string) string, required ...string) (Env, error) {
	e := Env{
		ConfigPath: config.LambdaPath(getenv),
		Bucket:     getenv(Bucket),
		Table:      getenv(Table),
		MailBucket: getenv(MailBucket),
		MailPrefix: getenv(MailPrefix),
		TopicARN:   getenv(TopicARN),
		RUAHTTPS:   getenv(RUAHTTPS),
		Resolver:   getenv(Resolver),

		DistributionID:    getenv(DistributionID),
		ConnectionGroupID: getenv(ConnectionGroupID),
	}
	var missing []string
	for _, k := range required {
		if getenv(k) == "" {
			missing = append(missing, k)
		}
	}
	if n := len(missing); n > 0 {
		names := missing[n-1]
		if n > 1 {
			names = strings.Join(missing[:n-1], ", ") + " and " + names
		}
		return e, fmt.Errorf("%s must be set", names)
	}
	var err error
	if e.DropUnsigned, err = parseBool(getenv, DropUnsigned); err != nil {
		return e, err
	}
	if e.SMTPProbe, err = parseBool(getenv, SMTPProbe); err != nil {
		return e, err
	}
	return e, nil
}

// parseBool reads the boolean variable k: nil when not set.
func parseBool(getenv func(string) string, k string) (*bool, error) {
	v := getenv(k)
	if v == "" {
		return nil, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return nil, fmt.Errorf("%s=%q: want true or false", k, v)
	}
	return &b, nil
}
