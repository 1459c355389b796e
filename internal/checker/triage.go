package checker

import (
	"fmt"
	"strings"

	"github.com/ststack/ststack/internal/health"
	"github.com/ststack/ststack/internal/mtasts"
	"github.com/ststack/ststack/internal/mxhealth"
	"github.com/ststack/ststack/internal/store"
	"github.com/ststack/ststack/internal/triage"
)

// maxTriageFindings bounds the reports-triage findings of one result (the
// newest and largest clusters first, as triage orders them), so that a
// result stays small whatever the reports hold.
const maxTriageFindings = 20

// maxEvidenceReports bounds the report keys one finding names.
const maxEvidenceReports = 5

// triageSeverity is how a verdict alerts: the receiving side is wrong, or
// may be attacked (warning); the rest is news (info).
var triageSeverity = map[triage.Verdict]health.Severity{
	triage.Misconfiguration: health.SeverityWarning,
	triage.Interception:     health.SeverityWarning,
	triage.SenderSide:       health.SeverityInfo,
	triage.NotEnoughData:    health.SeverityInfo,
}

var triageRemedy = map[triage.Verdict]string{
	triage.Misconfiguration: "fix the MX host or policy host as the result type and the cited checks say; the dashboard's triage table and MX view show the reports",
	triage.Interception:     "compare the failing networks with the senders' usual ones; ask the failing organisation whether its path to the MX is intercepted (STARTTLS stripped, certificate replaced); enforce mode protects this mail",
	triage.SenderSide:       "nothing to fix on your side if the policy host keeps checking fine; tell the organisation if it persists",
	triage.NotEnoughData:    "watch whether the cluster grows or other organisations report it; nothing to do yet",
}

// checkTriage adds one reports-triage finding per cluster of failed
// sessions in facts, judged against the findings of this run (internal/
// triage; docs/checker.md, "Failure triage"). The subject names the
// cluster, so a cluster alerts once, when it first appears, and again only
// when its verdict changes severity.
func (r *run) checkTriage(facts []store.Fact) {
	chk := r.res
	chk.Findings = append([]health.Finding(nil), r.res.Findings...)
	// The facts are the counted ones already (ReportFacts).
	clusters := triage.Triage(triage.Input{Domain: r.domain, Facts: facts,
		Counting: store.Counting{Conflicting: true}, Check: &chk}, triage.Default)
	for i, c := range clusters {
		if i == maxTriageFindings {
			break
		}
		mx := c.MXHost
		if mx == "" {
			mx = "(unnamed)"
		}
		r.add(finding(triageSeverity[c.Verdict], health.CodeReportsTriage,
			fmt.Sprintf("%s %s %s", c.Day, mx, c.ResultType),
			fmt.Sprintf("%s: %d failed sessions of %s at %s on %s: %s; %s", c.Verdict, c.FailedSessions, c.ResultType, mx, c.Day, c.Reason, evidence(c)),
			triageRemedy[c.Verdict]))
	}
}

// evidence says what a verdict rests on: the organisations, networks,
// reports and check findings.
func evidence(c triage.Cluster) string {
	parts := []string{
		fmt.Sprintf("failing: %s (of %d reporting)", strings.Join(c.Failing, ", "), len(c.Reporters)),
		fmt.Sprintf("succeeding: %d", len(c.Succeeding)),
	}
	var nets []string
	for _, n := range c.Networks {
		if n == "" {
			n = "(not reported)"
		}
		nets = append(nets, n)
	}
	parts = append(parts, "networks: "+strings.Join(nets, ", "))
	reports := c.Reports
	more := ""
	if len(reports) > maxEvidenceReports {
		more = fmt.Sprintf(" and %d more", len(reports)-maxEvidenceReports)
		reports = reports[:maxEvidenceReports]
	}
	parts = append(parts, "reports: "+strings.Join(reports, ", ")+more)
	if len(c.Checks) > 0 {
		var cs []string
		for _, f := range c.Checks {
			s := string(f.Code)
			if f.Subject != "" {
				s += " " + f.Subject
			}
			cs = append(cs, s)
		}
		parts = append(parts, "checks: "+strings.Join(cs, ", "))
	}
	return strings.Join(parts, "; ")
}

// checkMXHealth adds a reports-mx-failing finding for each MX host that
// was healthy in the reports and started failing for many senders
// (internal/mxhealth; docs/checker.md, "MX health from reports"): a
// warning, an error under enforce, where that mail is not delivered.
func (r *run) checkMXHealth(from, to store.Day, st store.Summary, facts []store.Fact) {
	v := mxhealth.Hosts(mxhealth.Input{Domain: r.domain, From: from, To: to, Facts: facts,
		Counting: store.Counting{Conflicting: true}, Sums: st.ByDay}, mxhealth.Default)
	for _, h := range v.Hosts {
		if h.Onset == nil {
			continue
		}
		sev := health.SeverityWarning
		if r.res.Mode == mtasts.ModeEnforce {
			sev = health.SeverityError
		}
		reports := h.Onset.Reports
		if len(reports) > maxEvidenceReports {
			reports = reports[:maxEvidenceReports]
		}
		r.add(finding(sev, health.CodeReportsMXFailing, h.MXHost,
			h.Onset.Summary(h.MXHost)+"; reports: "+strings.Join(reports, ", "),
			"see the MX view of the dashboard (/domains/"+r.domain+"/mx): the result types say what changed on the host (certificate renewed wrong or expired, STARTTLS off, TLSA records no longer matching the key)"))
	}
}
