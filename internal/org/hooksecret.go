package org

import (
	"context"
	"strings"

	"sigs.k8s.io/controller-runtime/pkg/client"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
	"github.com/oktaop/okta-sso-operator/internal/okta"
)

// HookSecrets are the event hook secrets the org objects that name the org
// at host set (eventHookSecretRef): the ClusterOktaOrgs' when any sets one
// (the platform's word for its org), else the OktaOrgs'. None: the caller
// falls back to the manager's own secret (nil). A Secret that is missing
// or empty gives nothing, so no delivery is accepted with it.
func HookSecrets(ctx context.Context, r client.Reader, clusterNamespace, host string) ([][]byte, error) {
	var cluster ssov1.ClusterOktaOrgList
	if err := r.List(ctx, &cluster); err != nil {
		return nil, err
	}
	var secrets [][]byte
	found := false
	for _, o := range cluster.Items {
		if ref := o.Spec.EventHookSecretRef; ref != nil && namesHost(o.Spec.OktaOrgSpec, host) {
			found = true
			secrets = appendSecret(ctx, r, secrets, clusterNamespace, *ref)
		}
	}
	if found {
		return nonNil(secrets), nil
	}
	var namespaced ssov1.OktaOrgList
	if err := r.List(ctx, &namespaced); err != nil {
		return nil, err
	}
	for _, o := range namespaced.Items {
		if ref := o.Spec.EventHookSecretRef; ref != nil && namesHost(o.Spec, host) {
			found = true
			secrets = appendSecret(ctx, r, secrets, o.Namespace, *ref)
		}
	}
	if found {
		return nonNil(secrets), nil
	}
	return nil, nil
}

// nonNil keeps "set, but unreadable" apart from "not set": the first
// accepts nothing, the second falls back to the manager's secret.
func nonNil(secrets [][]byte) [][]byte {
	if secrets == nil {
		return [][]byte{}
	}
	return secrets
}

func namesHost(spec ssov1.OktaOrgSpec, host string) bool {
	u, err := okta.CanonicalOrgURL(string(spec.URL))
	return err == nil && strings.EqualFold(u.Host, host)
}

func appendSecret(ctx context.Context, r client.Reader, secrets [][]byte, namespace string, ref ssov1.SecretKeySelector) [][]byte {
	value, _, err := credential(ctx, r, "event hook", namespace, ref)
	if err != nil {
		return secrets
	}
	if v := strings.TrimSpace(string(value)); v != "" {
		secrets = append(secrets, []byte(v))
	}
	return secrets
}
