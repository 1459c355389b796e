// Package stacks defines the CloudFormation stacks of one ststack
// deployment: everything an organisation needs for MTA-STS (RFC 8461) and
// SMTP TLS Reporting (RFC 8460) on all of its mail domains, from the same
// organisation file the functions and the CLI read (package config).
//
// A deployment is two stacks, both named after the organisation
// (config.Config.StackName) so that several organisations can share an
// account:
//
//   - NAME-certificate, always in us-east-1: the ACM certificate for every
//     mta-sts.<domain> (CloudFront accepts certificates from us-east-1 only),
//     DNS-validated in each Route53 zone, its ARN written to an SSM
//     parameter there.
//   - NAME, in the organisation's region: the policy Lambda behind a
//     function URL and CloudFront, the DNS records, the TLS-RPT endpoint
//     (HTTP API → Lambda → S3 and DynamoDB), the scheduled checker, the SNS
//     alert topic, alarms, a dashboard and the outputs.
//
// The certificate's ARN crosses regions through that SSM parameter, read by
// a custom resource, rather than through CDK's crossRegionReferences: those
// refuse to change an exported value that is in use, which would make
// adding a domain (a new certificate) fail.
//
// New also adds the cdk-nag AwsSolutions checks to the app; every
// suppression carries its reason (see nag.go).
package stacks
