// Package notify delivers the checker's alerts: to an Amazon SNS topic
// (whose subscribers get e-mail) in AWS, and to a log/slog logger locally.
// Both implement checker.Alerter.
package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/ststack/ststack/internal/health"
)

// Publisher is the part of the SNS client that SNS uses; *sns.Client
// implements it. Publish must be safe for concurrent use.
type Publisher interface {
	Publish(ctx context.Context, in *sns.PublishInput, optFns ...func(*sns.Options)) (*sns.PublishOutput, error)
}

// LazySNS is a Publisher over the client the function returns, which it
// builds on its first call (awsenv.Lazy): the checker function builds its
// SNS client only when it has an alert to send.
type LazySNS func() *sns.Client

func (f LazySNS) Publish(ctx context.Context, in *sns.PublishInput, optFns ...func(*sns.Options)) (*sns.PublishOutput, error) {
	return f().Publish(ctx, in, optFns...)
}

// SNS publishes one message per alert to a topic. The message has a
// subject (for e-mail subscribers) and the message attributes "domain" and
// "severity" (the worst severity that appeared, or "cleared"), which
// subscription filter policies can select on.
type SNS struct {
	client   Publisher
	topicARN string
}

// NewSNS returns an alerter publishing to topicARN with client.
func NewSNS(client Publisher, topicARN string) *SNS {
	return &SNS{client: client, topicARN: topicARN}
}

// Limits SNS puts on a Publish (SNS API reference, Publish).
const (
	maxSubject = 100       // ASCII characters, no line break
	maxMessage = 256 << 10 // bytes
)

// Alert implements checker.Alerter.
func (s *SNS) Alert(ctx context.Context, domain string, appeared, cleared []health.Finding) error {
	if len(appeared) == 0 && len(cleared) == 0 {
		return nil
	}
	subject, body := Format(domain, appeared, cleared)
	severity := "cleared"
	if len(appeared) > 0 {
		severity = worst(appeared).String()
	}
	_, err := s.client.Publish(ctx, &sns.PublishInput{
		TopicArn: aws.String(s.topicARN),
		Subject:  aws.String(subject),
		Message:  aws.String(body),
		MessageAttributes: map[string]snstypes.MessageAttributeValue{
			"domain":   {DataType: aws.String("String"), StringValue: aws.String(domain)},
			"severity": {DataType: aws.String("String"), StringValue: aws.String(severity)},
		},
	})
	if err != nil {
		return fmt.Errorf("notify: publishing alert for %s to SNS: %w", domain, err)
	}
	return nil
}

func worst(fs []health.Finding) health.Severity {
	w := health.SeverityInfo
	for _, f := range fs {
		w = max(w, f.Severity)
	}
	return w
}

// Format renders an alert as an e-mail subject (at most 100 ASCII
// characters, one line) and a plain-text body (at most 256 KiB).
func Format(domain string, appeared, cleared []health.Finding) (subject, body string) {
	var parts []string
	if n := countSev(appeared, health.SeverityError); n > 0 {
		parts = append(parts, plural(n, "new error"))
	}
	if n := countSev(appeared, health.SeverityWarning); n > 0 {
		parts = append(parts, plural(n, "new warning"))
	}
	if n := countSev(appeared, health.SeverityInfo); n > 0 {
		parts = append(parts, plural(n, "new notice"))
	}
	if n := len(cleared); n > 0 {
		parts = append(parts, fmt.Sprintf("%d resolved", n))
	}
	subject = asciiLine(fmt.Sprintf("ststack: %s: %s", domain, strings.Join(parts, ", ")), maxSubject)

	var b strings.Builder
	fmt.Fprintf(&b, "The ststack checker found changes for %s.\n", domain)
	section := func(title string, fs []health.Finding, remedy bool) {
		if len(fs) == 0 {
			return
		}
		fmt.Fprintf(&b, "\n%s:\n", title)
		for _, f := range fs {
			fmt.Fprintf(&b, "- [%s] %s", f.Severity, f.Code)
			if f.Subject != "" {
				fmt.Fprintf(&b, " (%s)", f.Subject)
			}
			fmt.Fprintf(&b, ": %s\n", f.Message)
			if remedy && f.Remedy != "" {
				fmt.Fprintf(&b, "  Fix: %s\n", f.Remedy)
			}
		}
	}
	section("New", appeared, true)
	section("Resolved", cleared, false)
	b.WriteString("\nYou get this message when a finding appears or clears, not on every check.\n")
	body = b.String()
	if len(body) > maxMessage {
		const cut = "\n… (truncated)\n"
		body = strings.ToValidUTF8(body[:maxMessage-len(cut)], "") + cut
	}
	return subject, body
}

func countSev(fs []health.Finding, s health.Severity) int {
	n := 0
	for _, f := range fs {
		if f.Severity == s {
			n++
		}
	}
	return n
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// asciiLine makes s fit an SNS subject: printable ASCII (others become
// "?"), at most n bytes.
func asciiLine(s string, n int) string {
	b := make([]byte, 0, min(len(s), n))
	for _, r := range s {
		if len(b) == n {
			break
		}
		if r < ' ' || r > '~' {
			r = '?'
		}
		b = append(b, byte(r))
	}
	return string(b)
}

// Log writes alerts to a logger: each appeared finding at a level by its
// severity (error, warning, info), each cleared finding at info.
type Log struct {
	logger *slog.Logger
}

// NewLog returns an alerter writing to logger.
func NewLog(logger *slog.Logger) *Log { return &Log{logger: logger} }

// Alert implements checker.Alerter; it never fails.
func (l *Log) Alert(ctx context.Context, domain string, appeared, cleared []health.Finding) error {
	for _, f := range appeared {
		level := slog.LevelInfo
		switch f.Severity {
		case health.SeverityError:
			level = slog.LevelError
		case health.SeverityWarning:
			level = slog.LevelWarn
		}
		l.logger.LogAttrs(ctx, level, "finding appeared", attrs(domain, f, true)...)
	}
	for _, f := range cleared {
		l.logger.LogAttrs(ctx, slog.LevelInfo, "finding cleared", attrs(domain, f, false)...)
	}
	return nil
}

func attrs(domain string, f health.Finding, remedy bool) []slog.Attr {
	a := []slog.Attr{
		slog.String("domain", domain),
		slog.String("severity", f.Severity.String()),
		slog.String("code", string(f.Code)),
	}
	if f.Subject != "" {
		a = append(a, slog.String("subject", f.Subject))
	}
	a = append(a, slog.String("message", f.Message))
	if remedy && f.Remedy != "" {
		a = append(a, slog.String("remedy", f.Remedy))
	}
	return a
}

// Alerter is what All combines: checker.Alerter, whose doc comment gives
// the contract, owned here too so that notify does not import the checker.
type Alerter interface {
	Alert(ctx context.Context, domain string, appeared, cleared []health.Finding) error
}

// All sends each alert to every alerter in turn; the errors are joined.
func All(alerters ...Alerter) Alerter { return all(alerters) }

type all []Alerter

func (as all) Alert(ctx context.Context, domain string, appeared, cleared []health.Finding) error {
	var errs []error
	for _, a := range as {
		if err := a.Alert(ctx, domain, appeared, cleared); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
