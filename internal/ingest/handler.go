package ingest

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ststack/ststack/internal/store"
	"github.com/ststack/ststack/internal/tlsrpt"
)

// Path is the endpoint's path, the same locally and in AWS.
const Path = "/v1/tlsrpt"

// maxReason bounds the plain-text reason of a 4xx answer.
const maxReason = 512

// acceptedTypes are the media types a report may be posted with. RFC 8460
// §5.4 (via §6.4, §6.5): application/tlsrpt+gzip and application/tlsrpt+json;
// the others are what senders were seen to use. The body's format is told
// by its first bytes (gzip magic or a JSON object), never by the label, so
// every accepted type is unambiguous.
var acceptedTypes = map[string]bool{
	"application/tlsrpt+gzip": true,
	"application/tlsrpt+json": true,
	"application/tlsrpt":      true,
	"application/json":        true,
	"application/gzip":        true,
	"application/x-gzip":      true,
	"":                        true, // no Content-Type: the body tells
}

// NewHandler returns the HTTP handler of the report endpoint: POST a report
// to it. It serves whatever path it is mounted on (mount it at Path).
func NewHandler(in *Ingester) http.Handler {
	return &handler{in: in}
}

type handler struct {
	in *Ingester
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	status, reason, res, err := h.serve(w, r)
	if status < 300 && len(res.Conflicts) > 0 {
		reason = "conflicting"
	}
	h.answer(w, status, reason)
	attrs := []any{"status", status, "remote", r.RemoteAddr, "bytes", r.ContentLength,
		"duration", time.Since(start).Round(time.Microsecond).String()}
	if res.Key != "" {
		attrs = append(attrs, "report", res.Key, "domains", res.Domains)
	}
	if res.Report != nil && len(res.Report.Quirks) > 0 {
		attrs = append(attrs, "quirks", len(res.Report.Quirks))
	}
	if len(res.Conflicts) > 0 {
		attrs = append(attrs, "conflicts", res.Conflicts)
	}
	switch {
	case status >= 500:
		h.in.log.ErrorContext(r.Context(), "tlsrpt: not stored", append(attrs, "error", err.Error())...)
	case status >= 400:
		h.in.log.WarnContext(r.Context(), "tlsrpt: refused", append(attrs, "reason", reason)...)
	case len(res.Conflicts) > 0:
		// Another body claims the same identity: one of them may be
		// forged (docs/reports.md, "Identity and conflicts").
		h.in.log.WarnContext(r.Context(), "tlsrpt: accepted, conflicting", attrs...)
	default:
		h.in.log.InfoContext(r.Context(), "tlsrpt: accepted", attrs...)
	}
}

// serve returns the status, the reason to send (4xx), what Ingest said, and
// the internal error (5xx, logged only).
func (h *handler) serve(w http.ResponseWriter, r *http.Request) (int, string, Result, error) {
	// RFC 8460 §3: reports are submitted with POST.
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return http.StatusMethodNotAllowed, "use POST", Result{}, nil
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || !acceptedTypes[mt] {
			return http.StatusUnsupportedMediaType,
				"Content-Type " + strconv.Quote(ct) + " not accepted: send application/tlsrpt+gzip or application/tlsrpt+json",
				Result{}, nil
		}
	}
	// A gzip Content-Encoding is what the gzip magic says anyway.
	switch ce := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); ce {
	case "", "identity", "gzip", "x-gzip":
	default:
		return http.StatusUnsupportedMediaType, "Content-Encoding " + strconv.Quote(ce) + " not accepted: use gzip or none", Result{}, nil
	}
	if r.ContentLength > h.in.maxBody {
		return http.StatusRequestEntityTooLarge, tooLarge(h.in.maxBody), Result{}, nil
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.in.maxBody))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge, tooLarge(h.in.maxBody), Result{}, nil
	case err != nil:
		return http.StatusBadRequest, "could not read the request body", Result{}, nil
	case len(body) == 0:
		return http.StatusBadRequest, "empty body: post the report", Result{}, nil
	}
	// The host it was posted to names a served domain when the endpoint is
	// one of its names: a hint for a policy without policy-domain.
	res, err := h.in.IngestFrom(r.Context(), body, Source{Channel: ChannelHTTPS, Provenance: store.ProvenanceHTTPS,
		Hints: []string{r.Host}})
	status, reason := classify(err)
	if status == http.StatusOK && res.Created {
		status = http.StatusCreated
	}
	return status, reason, res, err
}

// classify maps an Ingest error to a status and the reason sent.
func classify(err error) (int, string) {
	switch {
	case err == nil:
		return http.StatusOK, ""
	case errors.Is(err, tlsrpt.ErrTooLarge), errors.Is(err, tlsrpt.ErrTooMany):
		return http.StatusRequestEntityTooLarge, reasonOf(err)
	case errors.Is(err, tlsrpt.ErrMalformed), errors.Is(err, tlsrpt.ErrInvalid), errors.Is(err, tlsrpt.ErrTooDeep):
		return http.StatusBadRequest, reasonOf(err)
	case errors.Is(err, ErrNotServed), errors.Is(err, ErrImplausible):
		return http.StatusUnprocessableEntity, reasonOf(err)
	default:
		// ErrStore, a cancelled request, anything else: the sender
		// retries; the cause is logged, never sent.
		return http.StatusServiceUnavailable, "report not stored, try again later"
	}
}

func tooLarge(max int64) string {
	return "body larger than " + strconv.FormatInt(max, 10) + " bytes"
}

// reasonOf is err's text without package prefixes, one line, bounded.
func reasonOf(err error) string {
	s := err.Error()
	for _, p := range []string{"tlsrpt: ", "ingest: "} {
		s = strings.ReplaceAll(s, p, "")
	}
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) > maxReason {
		n := maxReason
		for n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		s = s[:n] + "…"
	}
	return s
}

// answer writes a plain-text answer: the reason for 4xx, a word otherwise.
func (h *handler) answer(w http.ResponseWriter, status int, reason string) {
	switch {
	case status == http.StatusCreated && reason == "conflicting":
		reason = "stored beside another report with the same organization-name and report-id"
	case status == http.StatusCreated:
		reason = "stored"
	case status == http.StatusOK:
		reason = "already stored"
	case status == http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", "60")
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	io.WriteString(w, reason+"\n")
}
