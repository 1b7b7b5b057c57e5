package controller

// The OktaSAMLApp's SAML metadata: the SP's rendered from the spec, the
// IdP's read from Okta with every published signing certificate in it.

import (
	"context"
	"crypto/x509"
	"fmt"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
	"github.com/oktaop/okta-sso-operator/internal/okta"
	"github.com/oktaop/okta-sso-operator/internal/saml"
)

func renderSPMetadata(app *ssov1.OktaSAMLApp, cert *x509.Certificate) ([]byte, error) {
	sp := app.Spec.ServiceProvider
	if sp == nil || sp.ACSURL == "" {
		return []byte{}, nil // a catalog app: the SP is the catalog's
	}
	acs := []saml.ACS{{URL: string(sp.ACSURL)}}
	for _, e := range sp.AdditionalACSURLs {
		acs = append(acs, saml.ACS{URL: string(e.URL), Index: int(e.Index)})
	}
	return saml.RenderSPMetadata(saml.SP{
		EntityID: sp.EntityID, ACS: acs, SLOURL: string(sp.SingleLogoutURL),
		NameIDFormat: saml.NameIDFormats[orDefault(string(app.Spec.SignOn.NameIDFormat), "Unspecified")],
		Certificate:  cert, AuthnRequestsSigned: cert != nil && app.Spec.SignOn.RequestSignatureRequired,
		WantAssertionsSigned: boolOr(app.Spec.SignOn.AssertionSigned, true),
	})
}

// idpMetadata reads the app's IdP metadata from Okta, signed by the active
// key, and adds the other published certificates, so an SP that loads it
// trusts every key Okta may sign with during a rotation.
func idpMetadata(ctx context.Context, c okta.API, appID string, published []publishedKey) ([]byte, *saml.IDP, error) {
	metadata := published[0].metadata // read already for a new app
	var err error
	if metadata == nil {
		if metadata, err = c.GetSAMLMetadata(ctx, appID, published[0].kid); err != nil {
			return nil, nil, fmt.Errorf("reading the app's IdP metadata: %w", err)
		}
	}
	extra := make([]*x509.Certificate, 0, len(published)-1)
	for _, p := range published[1:] {
		extra = append(extra, p.cert)
	}
	if metadata, err = saml.WithSigningCertificates(metadata, extra...); err != nil {
		return nil, nil, err
	}
	idp, err := saml.ParseIDPMetadata(metadata)
	if err != nil {
		return nil, nil, err
	}
	return metadata, idp, nil
}
