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

func TestCompanyID(t *testing.T) {
	tests := map[string]string{
		"https://acme.okta.com":               "acme",
		"https://acme-admin.oktapreview.com/": "acme-admin",
		"http://127.0.0.1:8443":               "127.0.0.1",
		"http://localhost:8443":               "localhost",
	}
	for url, want := range tests {
		if got := companyID(url); got != want {
			t.Errorf("companyID(%q) = %q, want %q", url, got, want)
		}
	}
}

func TestOrgConfig(t *testing.T) {
	const token = "00secret-token-value"
	tests := map[string]struct {
		data    map[string]string
		wantErr string
		check   func(t *testing.T, oauth bool, capacity int)
	}{
		"API token with the default share": {
			data:  map[string]string{"orgURL": "https://acme.okta.com", "apiToken": token},
			check: func(t *testing.T, oauth bool, capacity int) { expect(t, !oauth && capacity == 50, "SSWS, 50%") },
		},
		"OAuth with a share": {
			data:  map[string]string{"orgURL": "https://acme.okta.com", "clientID": "0oa1", "privateKey": "PEM", "maxAPICapacityPercent": "30"},
			check: func(t *testing.T, oauth bool, capacity int) { expect(t, oauth && capacity == 30, "OAuth, 30%") },
		},
		"no org URL":         {data: map[string]string{"apiToken": token}, wantErr: "has no orgURL"},
		"no credentials":     {data: map[string]string{"orgURL": "https://acme.okta.com"}, wantErr: "neither apiToken nor clientID"},
		"both credentials":   {data: map[string]string{"orgURL": "https://a.okta.com", "apiToken": token, "clientID": "x", "privateKey": "k"}, wantErr: "not both"},
		"client without key": {data: map[string]string{"orgURL": "https://a.okta.com", "clientID": "x"}, wantErr: "no privateKey"},
		"share out of range": {data: map[string]string{"orgURL": "https://a.okta.com", "apiToken": token, "maxAPICapacityPercent": "120"}, wantErr: "1 to 100"},
		"share not a number": {data: map[string]string{"orgURL": "https://a.okta.com", "apiToken": token, "maxAPICapacityPercent": "half"}, wantErr: "1 to 100"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			data := map[string][]byte{}
			for k, v := range tc.data {
				data[k] = []byte(v)
			}
			cfg, err := orgConfig("ns", "org", data)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !isSecretError(err) {
					t.Fatalf("error = %v, want a Secret error saying %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), token) {
					t.Error("the error quotes the token")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, cfg.OAuth != nil, cfg.MaxAPICapacityPercent)
		})
	}
}

func expect(t *testing.T, ok bool, what string) {
	t.Helper()
	if !ok {
		t.Errorf("want %s", what)
	}
}

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
