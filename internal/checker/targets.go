package checker

import (
	"github.com/ststack/ststack/internal/config"
)

// TargetsFromConfig returns a target for every configured domain, in the
// configuration's order: its policy, and the reporting addresses its
// _smtp._tls record must include. ruaHTTPS is the https rua URL the
// deployment publishes; when empty (the CLI may not know it), the https
// endpoint is not required.
func TargetsFromConfig(cfg *config.Config, ruaHTTPS string) []Target {
	rua := cfg.TLSRPTRecord(ruaHTTPS).RUA
	ts := make([]Target, len(cfg.Domains))
	for i, d := range cfg.Domains {
		p := d.Policy
		ts[i] = Target{Domain: d.Name, Policy: &p, RUA: rua}
	}
	return ts
}
