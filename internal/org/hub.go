package org

import (
	"context"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
	"github.com/oktaop/okta-sso-operator/internal/okta"
)

// Hub is the org an Org2Org app provisions, as its provisioning
// connection names it: the URL, and the API token the connection uses.
type Hub struct {
	URL   string
	Token string
	// Version names the token's version (the org object's and its
	// Secret's), so a rotated token is set on the connection again.
	Version string
	// Tenant is the hub ClusterOktaOrg's rule for the namespace (nil for
	// a team's own hub): the hub groups pushed to are held to it.
	Tenant *Tenant
}

// HubByOrg reads the hub an orgRef names for a provisioning connection:
// a ClusterOktaOrg whose conditions allow the namespace and whose tenant
// rule allows provisioning, or an OktaOrg of the namespace. The
// connection is a token connection, so the org's credential must be an
// API token. Nothing is sent anywhere here.
func (o *Resolver) HubByOrg(ctx context.Context, namespace string, ref ssov1.OrgReference) (*Hub, error) {
	var spec ssov1.OktaOrgSpec
	var what, secretNamespace, version string
	var tenant *Tenant
	switch ref.Kind {
	case ssov1.OrgKindCluster:
		co := &ssov1.ClusterOktaOrg{}
		if err := o.Reader.Get(ctx, client.ObjectKey{Name: string(ref.Name)}, co); err != nil {
			return nil, notFoundAs(err, &DependencyError{fmt.Sprintf("provisioning.connection.orgRef: ClusterOktaOrg %s not found", ref.Name)})
		}
		var err error
		if tenant, err = o.allowed(ctx, co, namespace); err != nil {
			return nil, err
		}
		if err := tenant.CheckProvisioning(); err != nil {
			return nil, err
		}
		spec, what, secretNamespace, version = co.Spec.OktaOrgSpec, "ClusterOktaOrg "+co.Name, o.ClusterResourceNamespace, SpecVersion(co)
	case ssov1.OrgKindNamespaced:
		oo := &ssov1.OktaOrg{}
		if err := o.Reader.Get(ctx, client.ObjectKey{Namespace: namespace, Name: string(ref.Name)}, oo); err != nil {
			return nil, notFoundAs(err, &DependencyError{fmt.Sprintf("provisioning.connection.orgRef: OktaOrg %s/%s not found", namespace, ref.Name)})
		}
		spec, what, secretNamespace, version = oo.Spec, "OktaOrg "+namespace+"/"+oo.Name, namespace, SpecVersion(oo)
	default:
		return nil, &InvalidError{"provisioning.connection.orgRef names the hub's ClusterOktaOrg or OktaOrg by kind and name"}
	}
	if spec.Credentials.APIToken == nil {
		return nil, &InvalidError{fmt.Sprintf("provisioning.connection.orgRef: %s signs in with OAuth 2.0; the provisioning connection the operator sets up is a token connection: name a hub org object with an API token, or use tokenSecretRef", what)}
	}
	token, rv, err := credential(ctx, o.Reader, what, secretNamespace, *spec.Credentials.APIToken)
	if err != nil {
		return nil, err
	}
	u, err := okta.CanonicalOrgURL(string(spec.URL))
	if err != nil {
		return nil, &InvalidError{fmt.Sprintf("provisioning.connection.orgRef: %s: %v", what, err)}
	}
	return &Hub{URL: u.String(), Token: strings.TrimSpace(string(token)), Version: version + "/" + rv, Tenant: tenant}, nil
}

// notFoundAs is err, or instead when err says the object is not there.
func notFoundAs(err, instead error) error {
	if apierrors.IsNotFound(err) {
		return instead
	}
	return err
}
