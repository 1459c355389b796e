package checker

import (
	"github.com/ststack/ststack/internal/config"
)

// TargetsFromConfig returns a target for every configured domain, in the
// configuration's order: its policy (the one published, mode none for a
// retiring domain), the reporting addresses its _smtp._tls record must
// include, when a retiring domain may be removed, and for a delegated
// client domain the CNAMEs it must have. ruaHTTPS is the https
// rua URL the deployment publishes; when empty (the CLI may not know it),
// the https endpoint is not required.
func TargetsFromConfig(cfg *config.Config, ruaHTTPS string) []Target {
	rua := cfg.TLSRPTRecord(ruaHTTPS).RUA
	ts := make([]Target, len(cfg.Domains))
	for i, d := range cfg.Domains {
		p := d.Policy
		ts[i] = Target{Domain: d.Name, Policy: &p, RUA: rua}
		if del, ok := cfg.Delegated(d); ok {
			for _, c := range del.Records() {
				ts[i].Delegated = append(ts[i].Delegated, CNAME{Name: c.Name, Target: c.Target})
			}
		}
		if d.Retiring() {
			ts[i].RemovableAfter = d.Retire.RemovableAfter()
		}
	}
	return ts
}
