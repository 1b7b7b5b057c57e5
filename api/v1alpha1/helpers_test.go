package v1alpha1_test

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	ssov1alpha1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
)

func TestConnectionSecretName(t *testing.T) {
	tests := map[string]struct {
		specName string
		want     string
	}{
		"defaults to <app>-saml": {specName: "", want: "backup-portal-saml"},
		"spec name wins":         {specName: "backup-sso", want: "backup-sso"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			app := &ssov1alpha1.OktaSAMLApp{ObjectMeta: metav1.ObjectMeta{Name: "backup-portal"}}
			app.Spec.ConnectionSecret.Name = ssov1alpha1.ResourceName(tc.specName)
			if got := app.ConnectionSecretName(); got != tc.want {
				t.Errorf("ConnectionSecretName() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestIsActive(t *testing.T) {
	tests := map[string]struct {
		active *bool
		want   bool
	}{
		"unset means active": {active: nil, want: true},
		"true":               {active: ptr.To(true), want: true},
		"false":              {active: ptr.To(false), want: false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			app := &ssov1alpha1.OktaSAMLApp{Spec: ssov1alpha1.OktaSAMLAppSpec{Active: tc.active}}
			if got := app.IsActive(); got != tc.want {
				t.Errorf("IsActive() = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestReconcileRequestedAt(t *testing.T) {
	tests := map[string]struct {
		annotations map[string]string
		want        string
		wantOK      bool
	}{
		"no annotations":  {annotations: nil},
		"other keys only": {annotations: map[string]string{"a": "b"}},
		"empty value":     {annotations: map[string]string{ssov1alpha1.ReconcileRequestAnnotation: ""}},
		"set":             {annotations: map[string]string{ssov1alpha1.ReconcileRequestAnnotation: "1732467600"}, want: "1732467600", wantOK: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, ok := ssov1alpha1.ReconcileRequestedAt(tc.annotations)
			if got != tc.want || ok != tc.wantOK {
				t.Errorf("ReconcileRequestedAt() = %q, %v; want %q, %v", got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

func TestLastHandledReconcileRequest(t *testing.T) {
	var s ssov1alpha1.ReconcileRequestStatus
	s.SetLastHandledReconcileRequest("42")
	if got := s.GetLastHandledReconcileRequest(); got != "42" {
		t.Errorf("GetLastHandledReconcileRequest() = %q, want 42", got)
	}
}
