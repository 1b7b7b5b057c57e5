package org

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
)

// OutboundSecret reads one Secret key the operator sends out of the
// cluster (a SCIM token to the target, a value into SAML assertions). A
// Secret that holds an Okta org's credential is refused, whatever key is
// named: an org Secret of the old form, or a Secret an OktaOrg (or, in the
// operator's namespace, a ClusterOktaOrg) reads. The credential goes
// nowhere but Okta.
func OutboundSecret(ctx context.Context, r client.Reader, orgs Orgs, namespace string, ref ssov1.SecretKeySelector, use string) ([]byte, error) {
	value, _, err := OutboundSecretVersion(ctx, r, orgs, namespace, ref, use)
	return value, err
}

// OutboundSecretVersion is OutboundSecret with the version of the Secret
// the value came from (its UID and resourceVersion, from the same read), so
// a caller that keeps what it set up with the value can tell when it changed.
func OutboundSecretVersion(ctx context.Context, r client.Reader, orgs Orgs, namespace string, ref ssov1.SecretKeySelector, use string) ([]byte, string, error) {
	var s corev1.Secret
	if err := r.Get(ctx, client.ObjectKey{Namespace: namespace, Name: string(ref.Name)}, &s); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, "", &SecretError{fmt.Sprintf("%s: Secret %s/%s not found", use, namespace, ref.Name)}
		}
		return nil, "", err
	}
	holder, err := credentialHolder(ctx, r, orgs, &s)
	if err != nil {
		return nil, "", err
	}
	if holder != "" {
		return nil, "", &InvalidError{fmt.Sprintf("%s: Secret %s/%s holds the credential of %s, which goes nowhere but Okta: give %s a Secret of its own (nothing was sent)",
			use, namespace, ref.Name, holder, use)}
	}
	value := s.Data[string(ref.Key)]
	if len(value) == 0 {
		return nil, "", &SecretError{fmt.Sprintf("%s: Secret %s/%s has no key %s", use, namespace, ref.Name, ref.Key)}
	}
	return value, string(s.UID) + "/" + s.ResourceVersion, nil
}

// credentialHolder names the org whose credential the Secret holds, or "".
func credentialHolder(ctx context.Context, r client.Reader, orgs Orgs, s *corev1.Secret) (string, error) {
	if len(s.Data[orgURLKey]) > 0 && (len(s.Data[apiTokenKey]) > 0 || len(s.Data[privateKeyKey]) > 0) {
		return "the org Secret " + s.Name, nil
	}
	var namespaced ssov1.OktaOrgList
	if err := r.List(ctx, &namespaced, client.InNamespace(s.Namespace)); err != nil {
		return "", err
	}
	for _, o := range namespaced.Items {
		if ReadsSecret(o.Spec, s.Name) {
			return "OktaOrg " + o.Name, nil
		}
	}
	if s.Namespace != orgs.ClusterNamespace() {
		return "", nil
	}
	var cluster ssov1.ClusterOktaOrgList
	if err := r.List(ctx, &cluster); err != nil {
		return "", err
	}
	for _, o := range cluster.Items {
		if ReadsSecret(o.Spec.OktaOrgSpec, s.Name) {
			return "ClusterOktaOrg " + o.Name, nil
		}
	}
	return "", nil
}
