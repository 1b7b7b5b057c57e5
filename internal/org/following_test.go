package org

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
)

// TestFromSpecFollowing: an org object's System Log poll and drift sweep
// reach the org, the defaults when it leaves them out.
func TestFromSpecFollowing(t *testing.T) {
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "okta-system", Name: "okta-token", ResourceVersion: "1"},
		Data: map[string][]byte{"token": []byte("not-a-real-token")}}
	r := &Resolver{Reader: fake.NewClientBuilder().WithObjects(secret).Build()}
	spec := func(poll, sweep *metav1.Duration) ssov1.OktaOrgSpec {
		return ssov1.OktaOrgSpec{URL: "https://acme.okta.com", SystemLogPollInterval: poll, DriftSweepInterval: sweep,
			Credentials: ssov1.OrgCredentials{APIToken: &ssov1.SecretKeySelector{Name: "okta-token", Key: "token"}}}
	}
	cases := []struct {
		name        string
		spec        ssov1.OktaOrgSpec
		poll, sweep time.Duration
	}{
		{"the defaults", spec(nil, nil), time.Minute, 24 * time.Hour},
		{"following off, a three-day sweep", spec(&metav1.Duration{}, &metav1.Duration{Duration: 72 * time.Hour}), 0, 72 * time.Hour},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			org, err := r.FromSpec(context.Background(), "ClusterOktaOrg acme", "okta-system", tc.spec, string(rune('a'+i)), false)
			if err != nil {
				t.Fatal(err)
			}
			if org.LogPoll != tc.poll || org.Sweep != tc.sweep {
				t.Errorf("poll %v sweep %v, want %v and %v", org.LogPoll, org.Sweep, tc.poll, tc.sweep)
			}
		})
	}
}
