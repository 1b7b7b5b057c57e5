package controller

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
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
// the hub's ACS URL, audience and URL. Until the IdP is Ready they are
// placeholders, and waiting says so (the app is still created, so the IdP
// can read its certificate; the two converge).
func (r *OktaSAMLAppReconciler) hubSettings(ctx context.Context, app *ssov1.OktaSAMLApp) (settings map[string]any, waiting error) {
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
	return map[string]any{"acsUrl": hubPlaceholder + "/sso/saml2/pending", "audRestriction": hubPlaceholder + "/pending", "baseUrl": hubPlaceholder}, waiting
}

// idpPublished passes an IdP update that changed what it publishes.
var idpPublished = predicate.Funcs{
	UpdateFunc: func(e event.UpdateEvent) bool {
		o, n := e.ObjectOld.(*ssov1.OktaSAMLIdentityProvider), e.ObjectNew.(*ssov1.OktaSAMLIdentityProvider)
		return o.Status.ACSURL != n.Status.ACSURL || o.Status.Audience != n.Status.Audience || o.Status.HubURL != n.Status.HubURL
	},
}
