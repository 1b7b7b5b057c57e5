package controller

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
	oktaorg "github.com/oktaop/okta-sso-operator/internal/org"
)

// The org is internal/org's: these names keep the controllers' signatures
// short.
type (
	// Org is a connection to one Okta org.
	Org = oktaorg.Org
	// Orgs gives the Okta org an object's orgRef names.
	Orgs = oktaorg.Orgs
	// SecretOrgs is the resolver the manager and the tests use.
	SecretOrgs = oktaorg.Resolver
)

// secretValues reads keys of one Secret in the namespace, in order; each
// must be present and non-empty.
func secretValues(ctx context.Context, r client.Reader, namespace, name string, keys ...string) ([][]byte, error) {
	var s corev1.Secret
	if err := r.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, &s); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, &errSecret{fmt.Sprintf("Secret %s/%s not found", namespace, name)}
		}
		return nil, err
	}
	values := make([][]byte, len(keys))
	for i, key := range keys {
		if values[i] = s.Data[key]; len(values[i]) == 0 {
			return nil, &errSecret{fmt.Sprintf("Secret %s/%s has no key %s", namespace, name, key)}
		}
	}
	return values, nil
}

// orgThroughApp reaches Okta through the OktaSAMLApp a binding or a sync
// references, always in the object's own namespace: never another one, so a
// namespace's objects cannot use another team's org Secret. An app that is
// missing or has no Okta app yet is a dependency not ready (the app is
// watched, so its arrival is picked up at once).
func orgThroughApp(ctx context.Context, r client.Reader, orgs Orgs, namespace string, ref ssov1.LocalObjectReference) (*ssov1.OktaSAMLApp, *Org, error) {
	app := &ssov1.OktaSAMLApp{}
	if err := r.Get(ctx, client.ObjectKey{Namespace: namespace, Name: string(ref.Name)}, app); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil, &errDependency{fmt.Sprintf("OktaSAMLApp %s/%s not found: create it, or correct appRef.name", namespace, ref.Name)}
		}
		return nil, nil, err
	}
	if app.Status.AppID == "" || !app.DeletionTimestamp.IsZero() {
		return app, nil, &errDependency{fmt.Sprintf("OktaSAMLApp %s/%s has no app in Okta yet; waiting for it to be Ready", namespace, ref.Name)}
	}
	org, err := orgs.Get(ctx, namespace, app.Spec.OrgRef)
	if err != nil {
		return app, nil, err
	}
	return app, org, nil
}
