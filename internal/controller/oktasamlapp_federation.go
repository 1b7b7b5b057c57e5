package controller

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
	"github.com/oktaop/okta-sso-operator/internal/okta"
)

// appIdPIndex indexes OktaSAMLApps by the OktaSAMLIdentityProvider whose
// hub values they take.
const appIdPIndex = ".spec.serviceProvider.fromIdentityProviderRef.name"

func appIdPRef(o client.Object) []string {
	if sp := o.(*ssov1.OktaSAMLApp).Spec.ServiceProvider; sp != nil && sp.FromIdentityProviderRef != nil {
		return []string{string(sp.FromIdentityProviderRef.Name)}
	}
	return nil
}

// hubPlaceholder stands in for what the hub has not published yet. The
// spoke's Org2Org app must exist before the hub can trust it (the hub
// needs its issuer and certificate), and Okta requires the three settings,
// so the app is created with these and corrected once the IdP is Ready.
// (.invalid is reserved: it never resolves, so nothing is ever sent there.)
const hubPlaceholder = "https://hub.invalid"

// hubSettings are the Org2Org app settings the referenced IdP publishes:
// the hub's ACS URL, audience and URL. Until the IdP has published them,
// waiting says so and the settings are the app's own in Okta when it has
// some (an IdP whose status was lost, say restored from a backup, must not
// break sign-ins that work), else placeholders (the app is still created,
// so the IdP can read its certificate; the two converge).
func (r *OktaSAMLAppReconciler) hubSettings(ctx context.Context, c okta.API, app *ssov1.OktaSAMLApp) (settings map[string]any, waiting error) {
	refs := appIdPRef(app)
	if len(refs) == 0 {
		return nil, nil
	}
	idp := &ssov1.OktaSAMLIdentityProvider{}
	err := r.Get(ctx, client.ObjectKey{Namespace: app.Namespace, Name: refs[0]}, idp)
	switch {
	case apierrors.IsNotFound(err):
		waiting = &errDependency{fmt.Sprintf("OktaSAMLIdentityProvider %s/%s not found: the app waits for the hub's ACS URL and audience", app.Namespace, refs[0])}
	case err != nil:
		return nil, err
	case idp.Status.ACSURL == "" || idp.Status.Audience == "":
		waiting = &errDependency{fmt.Sprintf("OktaSAMLIdentityProvider %s/%s has not published the hub's ACS URL and audience yet", app.Namespace, refs[0])}
	default:
		return map[string]any{"acsUrl": idp.Status.ACSURL, "audRestriction": idp.Status.Audience, "baseUrl": idp.Status.HubURL}, nil
	}
	if app.Status.AppID != "" {
		current, err := c.GetApp(ctx, app.Status.AppID)
		if err != nil && !okta.IsNotFound(err) {
			return nil, err
		}
		if err == nil && current.Settings.App["acsUrl"] != nil {
			kept := map[string]any{}
			for _, k := range []string{"acsUrl", "audRestriction", "baseUrl"} {
				kept[k] = current.Settings.App[k]
			}
			return kept, waiting
		}
	}
	return map[string]any{"acsUrl": hubPlaceholder + "/sso/saml2/pending", "audRestriction": hubPlaceholder + "/pending", "baseUrl": hubPlaceholder}, waiting
}

// idpPublished passes an IdP update that changed what it publishes.
var idpPublished = predicate.Funcs{
	UpdateFunc: func(e event.UpdateEvent) bool {
		o, n := e.ObjectOld.(*ssov1.OktaSAMLIdentityProvider), e.ObjectNew.(*ssov1.OktaSAMLIdentityProvider)
		return o.Status.ACSURL != n.Status.ACSURL || o.Status.Audience != n.Status.Audience || o.Status.HubURL != n.Status.HubURL
	},
}

// retrustHubs moves every hub IdP that trusts this app (an Org2Org app
// named by an OktaSAMLIdentityProvider's spokeAppRef) to the key the app is
// about to sign with, just before it is promoted. Okta's IdP trusts one key
// at a time, so the hub refuses the spoke only between these two calls, not
// until the IdP's next reconcile; that one then finds the key already
// trusted and deletes the old one.
func (r *OktaSAMLAppReconciler) retrustHubs(ctx context.Context, app *ssov1.OktaSAMLApp, next okta.JWK) error {
	var idps ssov1.OktaSAMLIdentityProviderList
	if err := r.List(ctx, &idps, client.InNamespace(app.Namespace)); err != nil {
		return err
	}
	for i := range idps.Items {
		p := &idps.Items[i]
		if p.Spec.SpokeAppRef == nil || string(p.Spec.SpokeAppRef.Name) != app.Name || p.Status.IdPID == "" || p.Spec.Suspend || !p.DeletionTimestamp.IsZero() {
			continue
		}
		if err := retrust(ctx, r.Orgs, p, next); err != nil {
			return fmt.Errorf("OktaSAMLIdentityProvider %s: %w", p.Name, err)
		}
	}
	return nil
}

func retrust(ctx context.Context, orgs Orgs, p *ssov1.OktaSAMLIdentityProvider, next okta.JWK) error {
	if len(next.X5c) == 0 {
		return fmt.Errorf("okta lists signing key %s without its certificate", next.Kid)
	}
	cert, err := okta.CertificateOf(next.X5c[0])
	if err != nil {
		return err
	}
	org, err := orgs.Get(ctx, p.Namespace, p.Spec.OrgRef)
	if err != nil {
		return err
	}
	kid, err := trustKey(ctx, org.Client, p, cert)
	if err != nil {
		return err
	}
	idp, err := org.Client.GetIdentityProvider(ctx, p.Status.IdPID)
	if err != nil {
		return err
	}
	if idp.TrustKid() == kid || !idp.SetTrustKid(kid) {
		return nil
	}
	_, err = org.Client.UpdateIdentityProvider(ctx, p.Status.IdPID, idp)
	return err
}
