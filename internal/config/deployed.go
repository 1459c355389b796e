package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

// The deployed state: what `ststack config validate --deployed` compares a
// file with, so that it can refuse a change that would strand senders
// (RFC 8461 §8.3). It is read from the outputs of the deployed stack, not
// from the report store: the outputs say what CloudFormation last
// deployed, whether or not the checker has run since, and one AWS CLI call
// fetches them:
//
//	aws cloudformation describe-stacks --stack-name STACK --region REGION > deployed.json
//
// (the file `cdk deploy --outputs-file` writes is read too). The stack has
// one output per domain whose value starts with the domain's policy URL,
// https://mta-sts.<domain>/.well-known/mta-sts.txt, and for a retiring
// domain includes Retirement.String().

// PolicyPath is where a domain's policy is served (RFC 8461 §3.2).
const PolicyPath = "/.well-known/mta-sts.txt"

// Deployed is what a deployed stack's outputs say about its domains.
type Deployed struct {
	File  string // the file it was read from, for messages
	Stack string
	// Domains are the deployed domains by name (A-label).
	Domains map[string]DeployedDomain
}

// DeployedDomain is one deployed domain.
type DeployedDomain struct {
	Name string
	// Retiring is set when the deployed domain was retiring; then Since
	// and RemovableAfter are as Retirement's.
	Retiring              bool
	Since, RemovableAfter time.Time
}

// MaxDeployedSize bounds the outputs file before it is parsed; a stack
// has at most 200 outputs.
const MaxDeployedSize = 4 << 20

// ReadDeployed reads the outputs of stack from data, the JSON that
// `aws cloudformation describe-stacks` prints or the file `cdk deploy
// --outputs-file` writes; file names it in errors.
func ReadDeployed(data []byte, file, stack string) (*Deployed, error) {
	fail := func(format string, args ...any) error {
		return &Error{File: file, class: ErrInvalid, Msg: fmt.Sprintf(format, args...)}
	}
	if len(data) > MaxDeployedSize {
		return nil, &Error{File: file, class: ErrTooLarge, Msg: fmt.Sprintf("larger than %d bytes; not stack outputs", MaxDeployedSize)}
	}
	var doc struct {
		Stacks []struct {
			StackName string
			Outputs   []struct{ OutputKey, OutputValue string }
		}
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fail("not the JSON of stack outputs: %v", err)
	}
	outputs := map[string]string{}
	found := false
	if doc.Stacks != nil { // aws cloudformation describe-stacks
		for _, s := range doc.Stacks {
			// The domains' outputs are in the shards of the edge
			// stack (us-east-1), nested stacks named
			// <stack>-edge-Shard…: describe-stacks without
			// --stack-name lists them.
			if s.StackName == stack || strings.HasPrefix(s.StackName, stack+"-edge-Shard") {
				found = true
				for _, o := range s.Outputs {
					outputs[o.OutputKey] = o.OutputValue
				}
			}
		}
	} else { // cdk deploy --outputs-file: {"stack": {"key": "value"}}
		var byStack map[string]map[string]string
		if err := json.Unmarshal(data, &byStack); err != nil {
			return nil, fail("neither describe-stacks output nor a cdk outputs file: %v", err)
		}
		outputs, found = byStack[stack]
	}
	if !found {
		return nil, fail("no outputs of stack %s (give the output of aws cloudformation describe-stacks --stack-name %s)", stack, stack)
	}
	dep := &Deployed{File: file, Stack: stack, Domains: map[string]DeployedDomain{}}
	keys := make([]string, 0, len(outputs))
	for k := range outputs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		d, ok, err := parseDomainOutput(outputs[k])
		if err != nil {
			return nil, fail("output %s: %v", k, err)
		}
		if ok {
			dep.Domains[d.Name] = d
		}
	}
	return dep, nil
}

// parseDomainOutput reads a domain's output: "POLICY-URL | … | retiring
// since DAY, removable after TIME | …"; ok is false for other outputs.
func parseDomainOutput(v string) (DeployedDomain, bool, error) {
	parts := strings.Split(v, " | ")
	u, err := url.Parse(parts[0])
	if err != nil || u.Scheme != "https" || u.Path != PolicyPath || !strings.HasPrefix(u.Host, "mta-sts.") {
		return DeployedDomain{}, false, nil
	}
	d := DeployedDomain{Name: strings.TrimPrefix(u.Host, "mta-sts.")}
	for _, part := range parts[1:] {
		rest, ok := strings.CutPrefix(part, retiringPrefix)
		if !ok {
			continue
		}
		day, after, ok := strings.Cut(rest, removablePrefix)
		if !ok {
			return d, false, fmt.Errorf("%q: want %sDAY%sTIME", part, retiringPrefix, removablePrefix)
		}
		if d.Since, err = time.Parse(DateLayout, day); err != nil {
			return d, false, fmt.Errorf("%q: %v", part, err)
		}
		if d.RemovableAfter, err = time.Parse(time.RFC3339, after); err != nil {
			return d, false, fmt.Errorf("%q: %v", part, err)
		}
		d.Retiring = true
	}
	return d, true, nil
}

// Errors of CheckDeployed, beside ErrInvalid.
var (
	// ErrRemovalTooEarly: the file leaves out a deployed domain before
	// senders' cached copies of its policy have expired.
	ErrRemovalTooEarly = errors.New("domain removed before its policy expired")
	// ErrRetirementShortened: a retirement would count its wait from a
	// day before it is deployed, or end before the deployed one.
	ErrRetirementShortened = errors.New("retirement wait shortened")
)

// CheckDeployed compares c with the deployed stack dep at now, and returns
// an error for each change that would leave senders enforcing a cached
// policy against a domain that no longer answers for it (RFC 8461 §8.3):
//   - a deployed domain left out of c that was not retiring, or whose
//     RemovableAfter is after now;
//   - a retirement that starts in c on a day before now's while the
//     deployed domain is not retiring yet (the wait would count from before
//     the mode none policy was served);
//   - a retirement whose RemovableAfter comes before the deployed one's.
//
// The errors are *Error values (ErrInvalid and one of the classes above),
// joined; nil if there is none.
func (c *Config) CheckDeployed(dep *Deployed, now time.Time) error {
	var errs []error
	add := func(line int, field string, class error, format string, args ...any) {
		errs = append(errs, &Error{File: c.file, Line: line, Field: field, class: ErrInvalid,
			Err: class, Msg: fmt.Sprintf(format, args...)})
	}
	names := make([]string, 0, len(dep.Domains))
	for n := range dep.Domains {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		dd := dep.Domains[n]
		if _, kept := c.Domain(n); kept {
			continue
		}
		switch {
		case !dd.Retiring:
			add(0, "domains", ErrRemovalTooEarly,
				"%s is deployed (%s) and not retiring: senders may keep enforcing its policy for up to its max_age after it disappears; keep it with retire: %s, deploy, and remove it after the wait (RFC 8461 §8.3)",
				n, dep.File, now.UTC().Format(DateLayout))
		case now.Before(dd.RemovableAfter):
			add(0, "domains", ErrRemovalTooEarly,
				"%s is retiring since %s and may be removed after %s, not before (senders may hold its previous policy until then, RFC 8461 §8.3); keep it until then",
				n, dd.Since.Format(DateLayout), dd.RemovableAfter.UTC().Format(time.RFC3339))
		}
	}
	u := now.UTC()
	today := time.Date(u.Year(), u.Month(), u.Day(), 0, 0, 0, 0, time.UTC)
	for _, d := range c.Domains {
		r := d.Retire
		if r == nil {
			continue
		}
		dd, deployed := dep.Domains[d.Name]
		switch {
		case deployed && !dd.Retiring && r.Since.Before(today):
			add(r.line, r.field, ErrRetirementShortened,
				"%s is before today, but the deployed stack does not retire %s yet: the wait counts from the day the mode none policy is deployed; set retire: %s",
				r.Since.Format(DateLayout), d.Name, today.Format(DateLayout))
		case deployed && dd.Retiring && r.RemovableAfter().Before(dd.RemovableAfter):
			add(r.line, r.field, ErrRetirementShortened,
				"the deployed retirement of %s ends %s; this file ends it earlier, %s (a retirement's wait may grow, never shrink)",
				d.Name, dd.RemovableAfter.UTC().Format(time.RFC3339), r.RemovableAfter().UTC().Format(time.RFC3339))
		}
	}
	return errors.Join(errs...)
}
