package reconcile

import (
	"context"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/ststack/ststack/internal/checker/checktest"
)

func TestDNSResolver(t *testing.T) {
	d := checktest.NewDNS(t)
	d.Add("mta-sts.client.example. CNAME K1.MTA-STS.ops.example.", "k1.mta-sts.ops.example. A 127.0.0.1",
		"mta-sts.plain.example. A 127.0.0.1")
	d.SetRcode("mta-sts.broken.example", dns.RcodeServerFailure)
	r := DNSResolver{Servers: []string{d.Addr}, Timeout: 2 * time.Second}
	ctx := context.Background()
	for name, want := range map[string]string{
		"mta-sts.client.example": "k1.mta-sts.ops.example",
		"mta-sts.plain.example":  "",
		"mta-sts.absent.example": "",
	} {
		got, err := r.CNAME(ctx, name)
		if err != nil || got != want {
			t.Errorf("CNAME(%s) = %q, %v; want %q", name, got, err, want)
		}
	}
	if got, err := r.CNAME(ctx, "mta-sts.broken.example"); err == nil {
		t.Errorf("SERVFAIL: %q, no error", got)
	}
}
