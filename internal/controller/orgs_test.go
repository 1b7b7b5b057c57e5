package controller

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
)

func TestOrgThroughApp(t *testing.T) {
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	_ = ssov1.AddToScheme(scheme)
	readyApp := &ssov1.OktaSAMLApp{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "portal"},
		Spec: ssov1.OktaSAMLAppSpec{OrgRef: ssov1.OrgReference{SecretName: "okta-org"}}}
	readyApp.Status.AppID = "0oa1"
	pendingApp := &ssov1.OktaSAMLApp{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "new"}}
	orgSecret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "okta-org"},
		Data: map[string][]byte{"orgURL": []byte("https://acme.okta.com"), "apiToken": []byte("00token")}}
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(readyApp, pendingApp, orgSecret).Build()
	orgs := &SecretOrgs{Reader: c}
	tests := map[string]struct {
		namespace, app string
		wantOrg        string
		wantDependency string
	}{
		"a Ready app in the namespace":       {namespace: "team-a", app: "portal", wantOrg: "https://acme.okta.com"},
		"an app with no Okta app yet":        {namespace: "team-a", app: "new", wantDependency: "has no app in Okta yet"},
		"no such app":                        {namespace: "team-a", app: "missing", wantDependency: "team-a/missing not found"},
		"the same name in another namespace": {namespace: "team-b", app: "portal", wantDependency: "team-b/portal not found"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, org, err := orgThroughApp(context.Background(), c, orgs, tc.namespace, ssov1.LocalObjectReference{Name: ssov1.ResourceName(tc.app)})
			if tc.wantDependency != "" {
				if !isDependencyError(err) || !strings.Contains(err.Error(), tc.wantDependency) {
					t.Fatalf("err = %v, want a dependency error saying %q", err, tc.wantDependency)
				}
				if o := classify(err, time.Now(), time.Minute); o.reason != ssov1.DependencyNotReadyReason || o.err != nil || o.result.RequeueAfter == 0 {
					t.Errorf("classified as %+v, want DependencyNotReady with a requeue and no error", o)
				}
				return
			}
			if err != nil || org.URL != tc.wantOrg {
				t.Fatalf("org = %v, %v; want %s", org, err, tc.wantOrg)
			}
		})
	}
}
