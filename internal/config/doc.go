// Package config loads and validates the organisation file (ststack.yaml):
// the organisation's mail domains, their MTA-STS policies (RFC 8461), where
// their DNS lives, where TLS reports go (RFC 8460) and how the checker runs.
//
// The file is YAML. It is decoded through yaml.Node so that every problem is
// reported as FILE:LINE: FIELD: MESSAGE, with FIELD a path such as
// domains[2].policy.max_age. Unknown keys, duplicate keys, YAML aliases and
// more than one document are errors. The file is bounded (MaxFileSize) before
// it is parsed, and so is the number of domains (MaxDomains).
//
// Everything the deployment derives from the file is derived here, once:
// each domain's complete policy (defaults applied, validated by package
// mtasts), its policy text and _mta-sts TXT record with a content-derived id,
// the _smtp._tls TXT record, and the CloudFormation stack name. A domain
// given retire: publishes a mode none policy until it may be removed
// (retire.go, RFC 8461 §8.3); CheckDeployed compares a file with the
// deployed stack's outputs (deployed.go) to refuse removing it earlier.
//
// The reference for every field is docs/config.md; ststack.example.yaml is a
// commented example that this package's tests load.
package config
