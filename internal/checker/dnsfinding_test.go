package checker

import (
	"errors"
	"fmt"
	"testing"

	"github.com/ststack/ststack/internal/health"
)

func TestDNSFindingMessage(t *testing.T) {
	err := fmt.Errorf("%w: %w", ErrLookup, errors.New("read udp: i/o timeout"))
	f := dnsFinding("_mta-sts.example.com", err)
	want := "DNS lookup of _mta-sts.example.com failed: read udp: i/o timeout"
	if f.Message != want || f.Code != health.CodeDNSError || f.Severity != health.SeverityError {
		t.Errorf("got %+v, want message %q", f, want)
	}
}
