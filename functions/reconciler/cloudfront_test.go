package main

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudfront/types"

	"github.com/ststack/ststack/internal/reconcile"
)

// fakeAPI records the SDK inputs and answers from one tenant.
type fakeAPI struct {
	tenant  *cftypes.DistributionTenant
	cert    *cftypes.ManagedCertificateDetails
	created *cloudfront.CreateDistributionTenantInput
	updated []*cloudfront.UpdateDistributionTenantInput
}

func (f *fakeAPI) GetDistributionTenant(_ context.Context, in *cloudfront.GetDistributionTenantInput, _ ...func(*cloudfront.Options)) (*cloudfront.GetDistributionTenantOutput, error) {
	if f.tenant == nil || (aws.ToString(in.Identifier) != aws.ToString(f.tenant.Name) && aws.ToString(in.Identifier) != aws.ToString(f.tenant.Id)) {
		return nil, &cftypes.EntityNotFound{Message: aws.String("no tenant")}
	}
	return &cloudfront.GetDistributionTenantOutput{DistributionTenant: f.tenant, ETag: aws.String("E2")}, nil
}

func (f *fakeAPI) CreateDistributionTenant(_ context.Context, in *cloudfront.CreateDistributionTenantInput, _ ...func(*cloudfront.Options)) (*cloudfront.CreateDistributionTenantOutput, error) {
	f.created = in
	f.tenant = &cftypes.DistributionTenant{Id: aws.String("dt_1"), Name: in.Name,
		Domains: []cftypes.DomainResult{{Domain: in.Domains[0].Domain}}}
	return &cloudfront.CreateDistributionTenantOutput{DistributionTenant: f.tenant, ETag: aws.String("E1")}, nil
}

func (f *fakeAPI) GetManagedCertificateDetails(_ context.Context, in *cloudfront.GetManagedCertificateDetailsInput, _ ...func(*cloudfront.Options)) (*cloudfront.GetManagedCertificateDetailsOutput, error) {
	if f.cert == nil {
		return nil, &cftypes.EntityNotFound{Message: aws.String("none")}
	}
	return &cloudfront.GetManagedCertificateDetailsOutput{ManagedCertificateDetails: f.cert}, nil
}

func (f *fakeAPI) UpdateDistributionTenant(_ context.Context, in *cloudfront.UpdateDistributionTenantInput, _ ...func(*cloudfront.Options)) (*cloudfront.UpdateDistributionTenantOutput, error) {
	f.updated = append(f.updated, in)
	if c := in.Customizations; c != nil && c.Certificate != nil {
		f.tenant.Customizations = &cftypes.Customizations{Certificate: &cftypes.Certificate{Arn: c.Certificate.Arn}}
	}
	return &cloudfront.UpdateDistributionTenantOutput{}, nil
}

// TestCloudFrontAdapter drives the engine through the SDK adapter: the
// tenant is created in the configured distribution and connection group
// with a managed certificate request validated by CloudFront, and the
// issued certificate is attached with the tenant's current ETag.
func TestCloudFrontAdapter(t *testing.T) {
	api := &fakeAPI{}
	cf := &cloudFront{api: api, distributionID: "EDIST", connectionGID: "cg_1"}
	if _, err := cf.GetTenant(context.Background(), "ststack-k"); !errors.Is(err, reconcile.ErrNotFound) {
		t.Fatalf("GetTenant of none: %v", err)
	}
	dns := cnames{"mta-sts.client.example": "k.mta-sts.ops.example"}
	e := &reconcile.Engine{CloudFront: cf, DNS: dns, States: &reconcile.MemoryStates{}}
	d := reconcile.Domain{Name: "client.example", PolicyHost: "mta-sts.client.example", Target: "k.mta-sts.ops.example", Tenant: "ststack-k"}
	s, err := e.Reconcile(context.Background(), d)
	if err != nil || s.Phase != reconcile.PhaseCertificatePending {
		t.Fatalf("first run: %+v %v", s, err)
	}
	in := api.created
	if aws.ToString(in.DistributionId) != "EDIST" || aws.ToString(in.ConnectionGroupId) != "cg_1" || aws.ToString(in.Name) != "ststack-k" ||
		len(in.Domains) != 1 || aws.ToString(in.Domains[0].Domain) != "mta-sts.client.example" ||
		in.ManagedCertificateRequest == nil || in.ManagedCertificateRequest.ValidationTokenHost != cftypes.ValidationTokenHostCloudFront {
		t.Fatalf("CreateDistributionTenant input %+v", in)
	}
	api.cert = &cftypes.ManagedCertificateDetails{CertificateArn: aws.String("arn:aws:acm:us-east-1:1:certificate/x"), CertificateStatus: cftypes.ManagedCertificateStatusIssued}
	if s, err = e.Reconcile(context.Background(), d); err != nil || s.Phase != reconcile.PhaseServing {
		t.Fatalf("issued: %+v %v", s, err)
	}
	if len(api.updated) != 1 {
		t.Fatalf("updates %d", len(api.updated))
	}
	u := api.updated[0]
	if aws.ToString(u.Id) != "dt_1" || aws.ToString(u.IfMatch) != "E2" || u.Customizations == nil ||
		aws.ToString(u.Customizations.Certificate.Arn) != "arn:aws:acm:us-east-1:1:certificate/x" ||
		len(u.Domains) != 1 || aws.ToString(u.Domains[0].Domain) != "mta-sts.client.example" {
		t.Fatalf("UpdateDistributionTenant input %+v", u)
	}
	if s, err = e.Reconcile(context.Background(), d); err != nil || s.Phase != reconcile.PhaseServing || len(api.updated) != 1 {
		t.Fatalf("re-run: %+v %v, %d updates", s, err, len(api.updated))
	}
}

type cnames map[string]string

func (c cnames) CNAME(_ context.Context, name string) (string, error) { return c[name], nil }

// TestColdStartNeedsTheDistribution: without the distribution and
// connection group the function refuses to start, naming the variables.
func TestColdStartNeedsTheDistribution(t *testing.T) {
	env := map[string]string{"STSTACK_TABLE": "t", "STSTACK_BUCKET": "b"}
	_, err := coldStart(context.Background(), func(k string) string { return env[k] }, nil)
	if err == nil || !strings.Contains(err.Error(), "STSTACK_DISTRIBUTION_ID") || !strings.Contains(err.Error(), "STSTACK_CONNECTION_GROUP_ID") {
		t.Fatalf("err %v", err)
	}
}
