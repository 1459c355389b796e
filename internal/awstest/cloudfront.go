package awstest

import (
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// CloudFront is a loopback stand-in for the part of CloudFront SaaS
// Manager's control plane the reconciler calls (REST-XML, API version
// 2020-05-31): GetDistributionTenant, CreateDistributionTenant,
// UpdateDistributionTenant and GetManagedCertificateDetails, as the API
// reference describes them:
// https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_GetDistributionTenant.html,
// API_CreateDistributionTenant.html, API_UpdateDistributionTenant.html,
// API_GetManagedCertificateDetails.html. A tenant is found by id or name;
// an update must give the tenant's current ETag (If-Match) or fails with
// 412 PreconditionFailed; a managed certificate request starts
// pending-validation until the test changes it (SetCertificateStatus).
// Point a client at it with AWS_ENDPOINT_URL_CLOUDFRONT=URL. It is safe for
// concurrent use.
type CloudFront struct {
	// URL is the stand-in's base URL (http://127.0.0.1:PORT).
	URL string

	mu      sync.Mutex
	seq     int
	tenants []*FakeTenant
	calls   []string
}

// FakeTenant is a distribution tenant as the stand-in holds it.
type FakeTenant struct {
	ID, Name, DistributionID, ConnectionGroupID string
	Domains                                     []string
	// CertificateARN is the attached certificate
	// (Customizations.Certificate.Arn).
	CertificateARN string
	// Managed is the managed certificate request, nil if none; its status
	// is one of the ManagedCertificateDetails statuses.
	Managed *FakeCertificate
	ETag    string
	version int
}

// FakeCertificate is a managed certificate request.
type FakeCertificate struct {
	ARN, Status, ValidationTokenHost string
}

// NewCloudFront starts the stand-in on 127.0.0.1 until the test ends.
func NewCloudFront(t testing.TB) *CloudFront {
	c := &CloudFront{}
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	c.URL = srv.URL
	return c
}

// Calls returns the operations received so far ("CreateDistributionTenant
// <name>", "UpdateDistributionTenant <id>", …) and forgets them.
func (c *CloudFront) Calls() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.calls
	c.calls = nil
	return out
}

// Tenant returns a copy of the tenant with this id or name.
func (c *CloudFront) Tenant(idOrName string) (FakeTenant, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.find(idOrName)
	if t == nil {
		return FakeTenant{}, false
	}
	out := *t
	if t.Managed != nil {
		m := *t.Managed
		out.Managed = &m
	}
	return out, true
}

// SetCertificateStatus sets the status of the managed certificate request
// of the tenant with this id or name (as ACM would, "issued" once
// validated); false if it has none.
func (c *CloudFront) SetCertificateStatus(idOrName, status string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.find(idOrName)
	if t == nil || t.Managed == nil {
		return false
	}
	t.Managed.Status = status
	return true
}

func (c *CloudFront) find(idOrName string) *FakeTenant {
	for _, t := range c.tenants {
		if t.ID == idOrName || t.Name == idOrName {
			return t
		}
	}
	return nil
}

const (
	cfAPI       = "/2020-05-31/"
	cfNamespace = "http://cloudfront.amazonaws.com/doc/2020-05-31/"
)

// tenantRequest is the body of CreateDistributionTenant and
// UpdateDistributionTenant (the members the stand-in reads).
type tenantRequest struct {
	DistributionID    string   `xml:"DistributionId"`
	Name              string   `xml:"Name"`
	ConnectionGroupID string   `xml:"ConnectionGroupId"`
	Domains           []string `xml:"Domains>member>Domain"`
	CertificateARN    *string  `xml:"Customizations>Certificate>Arn"`
	Managed           *struct {
		ValidationTokenHost string `xml:"ValidationTokenHost"`
		PrimaryDomainName   string `xml:"PrimaryDomainName"`
	} `xml:"ManagedCertificateRequest"`
}

// ServeHTTP answers the four operations.
func (c *CloudFront) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	path, ok := strings.CutPrefix(r.URL.Path, cfAPI)
	if !ok {
		cfError(w, http.StatusNotFound, "InvalidArgument", "unknown path "+r.URL.Path)
		return
	}
	kind, id, _ := strings.Cut(path, "/")
	switch {
	case kind == "distribution-tenant" && id == "" && r.Method == http.MethodPost:
		var in tenantRequest
		if !readXML(w, r, &in) {
			return
		}
		c.calls = append(c.calls, "CreateDistributionTenant "+in.Name)
		if in.Name == "" || in.DistributionID == "" || len(in.Domains) == 0 {
			cfError(w, http.StatusBadRequest, "InvalidArgument", "Name, DistributionId and Domains are required")
			return
		}
		if c.find(in.Name) != nil {
			cfError(w, http.StatusConflict, "EntityAlreadyExists", "a tenant named "+in.Name+" exists")
			return
		}
		c.seq++
		t := &FakeTenant{ID: fmt.Sprintf("dt_%04d", c.seq), Name: in.Name, DistributionID: in.DistributionID,
			ConnectionGroupID: in.ConnectionGroupID, Domains: in.Domains}
		c.apply(t, in)
		c.tenants = append(c.tenants, t)
		writeTenant(w, http.StatusCreated, t)
	case kind == "distribution-tenant" && id != "" && r.Method == http.MethodGet:
		c.calls = append(c.calls, "GetDistributionTenant "+id)
		t := c.find(id)
		if t == nil {
			cfError(w, http.StatusNotFound, "EntityNotFound", "no distribution tenant "+id)
			return
		}
		writeTenant(w, http.StatusOK, t)
	case kind == "distribution-tenant" && id != "" && r.Method == http.MethodPut:
		var in tenantRequest
		if !readXML(w, r, &in) {
			return
		}
		c.calls = append(c.calls, "UpdateDistributionTenant "+id)
		t := c.find(id)
		switch {
		case t == nil:
			cfError(w, http.StatusNotFound, "EntityNotFound", "no distribution tenant "+id)
			return
		case r.Header.Get("If-Match") != t.ETag:
			cfError(w, http.StatusPreconditionFailed, "PreconditionFailed", "If-Match is not the current ETag")
			return
		}
		if len(in.Domains) > 0 {
			t.Domains = in.Domains
		}
		c.apply(t, in)
		writeTenant(w, http.StatusOK, t)
	case kind == "managed-certificate" && id != "" && r.Method == http.MethodGet:
		c.calls = append(c.calls, "GetManagedCertificateDetails "+id)
		t := c.find(id)
		if t == nil || t.Managed == nil {
			cfError(w, http.StatusNotFound, "EntityNotFound", "no managed certificate for "+id)
			return
		}
		writeXML(w, http.StatusOK, "", fmt.Sprintf(`<ManagedCertificateDetails xmlns="%s"><CertificateArn>%s</CertificateArn><CertificateStatus>%s</CertificateStatus><ValidationTokenHost>%s</ValidationTokenHost></ManagedCertificateDetails>`,
			cfNamespace, esc(t.Managed.ARN), esc(t.Managed.Status), esc(t.Managed.ValidationTokenHost)))
	default:
		cfError(w, http.StatusBadRequest, "InvalidArgument", "unsupported "+r.Method+" "+r.URL.Path)
	}
}

// apply sets what a create or update request carries and gives the
// tenant a new version.
func (c *CloudFront) apply(t *FakeTenant, in tenantRequest) {
	if in.CertificateARN != nil {
		t.CertificateARN = *in.CertificateARN
	}
	if in.Managed != nil {
		c.seq++
		t.Managed = &FakeCertificate{ARN: fmt.Sprintf("arn:aws:acm:us-east-1:123456789012:certificate/managed-%04d", c.seq),
			Status: "pending-validation", ValidationTokenHost: in.Managed.ValidationTokenHost}
	}
	t.version++
	t.ETag = "E" + strconv.Itoa(t.version) + t.ID
}

func readXML(w http.ResponseWriter, r *http.Request, v any) bool {
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err == nil {
		err = xml.Unmarshal(b, v)
	}
	if err != nil {
		cfError(w, http.StatusBadRequest, "MalformedXML", err.Error())
		return false
	}
	return true
}

func writeTenant(w http.ResponseWriter, status int, t *FakeTenant) {
	var b strings.Builder
	fmt.Fprintf(&b, `<DistributionTenant xmlns="%s"><Id>%s</Id><Arn>arn:aws:cloudfront::123456789012:distribution-tenant/%s</Arn><Name>%s</Name><DistributionId>%s</DistributionId><Domains>`,
		cfNamespace, esc(t.ID), esc(t.ID), esc(t.Name), esc(t.DistributionID))
	status2 := "inactive"
	if t.CertificateARN != "" {
		status2 = "active"
	}
	for _, d := range t.Domains {
		fmt.Fprintf(&b, "<member><Domain>%s</Domain><Status>%s</Status></member>", esc(d), status2)
	}
	b.WriteString("</Domains>")
	if t.CertificateARN != "" {
		fmt.Fprintf(&b, "<Customizations><Certificate><Arn>%s</Arn></Certificate></Customizations>", esc(t.CertificateARN))
	}
	fmt.Fprintf(&b, "<ConnectionGroupId>%s</ConnectionGroupId><Enabled>true</Enabled><Status>Deployed</Status></DistributionTenant>", esc(t.ConnectionGroupID))
	writeXML(w, status, t.ETag, b.String())
}

func writeXML(w http.ResponseWriter, status int, etag, body string) {
	w.Header().Set("Content-Type", "text/xml")
	if etag != "" {
		w.Header().Set("ETag", etag)
	}
	w.WriteHeader(status)
	io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?>`+body)
}

// cfError writes CloudFront's error document.
func cfError(w http.ResponseWriter, status int, code, msg string) {
	writeXML(w, status, "", fmt.Sprintf(`<ErrorResponse xmlns="%s"><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>stand-in</RequestId></ErrorResponse>`,
		cfNamespace, esc(code), esc(msg)))
}

func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
