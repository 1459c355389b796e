package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudfront/types"

	"github.com/ststack/ststack/internal/reconcile"
)

// cloudFrontAPI is the part of the SDK client the adapter calls.
type cloudFrontAPI interface {
	GetDistributionTenant(ctx context.Context, in *cloudfront.GetDistributionTenantInput, opts ...func(*cloudfront.Options)) (*cloudfront.GetDistributionTenantOutput, error)
	CreateDistributionTenant(ctx context.Context, in *cloudfront.CreateDistributionTenantInput, opts ...func(*cloudfront.Options)) (*cloudfront.CreateDistributionTenantOutput, error)
	GetManagedCertificateDetails(ctx context.Context, in *cloudfront.GetManagedCertificateDetailsInput, opts ...func(*cloudfront.Options)) (*cloudfront.GetManagedCertificateDetailsOutput, error)
	UpdateDistributionTenant(ctx context.Context, in *cloudfront.UpdateDistributionTenantInput, opts ...func(*cloudfront.Options)) (*cloudfront.UpdateDistributionTenantOutput, error)
}

// cloudFront implements reconcile.CloudFront with the SDK, in one
// multi-tenant distribution and connection group. API reference:
// https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_CreateDistributionTenant.html,
// API_GetDistributionTenant.html, API_GetManagedCertificateDetails.html,
// API_UpdateDistributionTenant.html (UpdateDistributionTenant takes
// Customizations.Certificate to attach a certificate and a
// ManagedCertificateRequest to request a new one; IfMatch is the ETag).
type cloudFront struct {
	api                           cloudFrontAPI
	distributionID, connectionGID string
}

// domainsOf are a tenant's domain names.
func domainsOf(t *cftypes.DistributionTenant) []string {
	var ds []string
	for _, d := range t.Domains {
		ds = append(ds, aws.ToString(d.Domain))
	}
	return ds
}

func tenantOf(t *cftypes.DistributionTenant, etag *string) reconcile.Tenant {
	out := reconcile.Tenant{ID: aws.ToString(t.Id), Name: aws.ToString(t.Name), ETag: aws.ToString(etag)}
	if c := t.Customizations; c != nil && c.Certificate != nil {
		out.CertificateARN = aws.ToString(c.Certificate.Arn)
	}
	return out
}

// notFound reports the SDK's "no such tenant/certificate" errors.
func notFound(err error) bool {
	var e1 *cftypes.EntityNotFound
	var e2 *cftypes.NoSuchResource
	return errors.As(err, &e1) || errors.As(err, &e2)
}

func (c *cloudFront) GetTenant(ctx context.Context, name string) (reconcile.Tenant, error) {
	out, err := c.api.GetDistributionTenant(ctx, &cloudfront.GetDistributionTenantInput{Identifier: &name})
	switch {
	case notFound(err):
		return reconcile.Tenant{}, fmt.Errorf("tenant %s: %w", name, reconcile.ErrNotFound)
	case err != nil:
		return reconcile.Tenant{}, err
	case out.DistributionTenant == nil:
		return reconcile.Tenant{}, fmt.Errorf("tenant %s: %w", name, reconcile.ErrNotFound)
	}
	return tenantOf(out.DistributionTenant, out.ETag), nil
}

func (c *cloudFront) CreateTenant(ctx context.Context, name, domain string) (reconcile.Tenant, error) {
	out, err := c.api.CreateDistributionTenant(ctx, &cloudfront.CreateDistributionTenantInput{
		DistributionId:    &c.distributionID,
		ConnectionGroupId: &c.connectionGID,
		Name:              &name,
		Domains:           []cftypes.DomainItem{{Domain: &domain}},
		Enabled:           aws.Bool(true),
		ManagedCertificateRequest: &cftypes.ManagedCertificateRequest{
			ValidationTokenHost: cftypes.ValidationTokenHostCloudFront,
			PrimaryDomainName:   &domain,
		},
	})
	if err != nil {
		return reconcile.Tenant{}, err
	}
	if out.DistributionTenant == nil {
		return reconcile.Tenant{}, fmt.Errorf("tenant %s: CreateDistributionTenant returned no tenant", name)
	}
	return tenantOf(out.DistributionTenant, out.ETag), nil
}

func (c *cloudFront) Certificate(ctx context.Context, t reconcile.Tenant) (reconcile.ManagedCertificate, error) {
	out, err := c.api.GetManagedCertificateDetails(ctx, &cloudfront.GetManagedCertificateDetailsInput{Identifier: &t.ID})
	switch {
	case notFound(err):
		return reconcile.ManagedCertificate{}, fmt.Errorf("certificate of %s: %w", t.Name, reconcile.ErrNotFound)
	case err != nil:
		return reconcile.ManagedCertificate{}, err
	case out.ManagedCertificateDetails == nil:
		return reconcile.ManagedCertificate{}, fmt.Errorf("certificate of %s: %w", t.Name, reconcile.ErrNotFound)
	}
	d := out.ManagedCertificateDetails
	return reconcile.ManagedCertificate{ARN: aws.ToString(d.CertificateArn), Status: string(d.CertificateStatus)}, nil
}

// update changes one thing of a tenant; the domains and the distribution
// are given as they are.
func (c *cloudFront) update(ctx context.Context, t reconcile.Tenant, domain string, in *cloudfront.UpdateDistributionTenantInput) error {
	in.Id, in.IfMatch = &t.ID, &t.ETag
	in.DistributionId, in.ConnectionGroupId = &c.distributionID, &c.connectionGID
	in.Domains = []cftypes.DomainItem{{Domain: &domain}}
	_, err := c.api.UpdateDistributionTenant(ctx, in)
	return err
}

func (c *cloudFront) RequestCertificate(ctx context.Context, t reconcile.Tenant, domain string) error {
	return c.update(ctx, t, domain, &cloudfront.UpdateDistributionTenantInput{
		ManagedCertificateRequest: &cftypes.ManagedCertificateRequest{
			ValidationTokenHost: cftypes.ValidationTokenHostCloudFront,
			PrimaryDomainName:   &domain,
		},
	})
}

func (c *cloudFront) AttachCertificate(ctx context.Context, t reconcile.Tenant, arn string) error {
	out, err := c.api.GetDistributionTenant(ctx, &cloudfront.GetDistributionTenantInput{Identifier: &t.ID})
	if err != nil {
		return err
	}
	if out.DistributionTenant == nil {
		return fmt.Errorf("tenant %s: %w", t.Name, reconcile.ErrNotFound)
	}
	ds := domainsOf(out.DistributionTenant)
	if len(ds) != 1 {
		return fmt.Errorf("tenant %s has %d domains, want 1", t.Name, len(ds))
	}
	t.ETag = aws.ToString(out.ETag)
	return c.update(ctx, t, ds[0], &cloudfront.UpdateDistributionTenantInput{
		Customizations: &cftypes.Customizations{Certificate: &cftypes.Certificate{Arn: &arn}},
	})
}
