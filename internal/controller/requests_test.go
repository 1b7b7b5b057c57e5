package controller

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/event"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
)

func TestPendingRequest(t *testing.T) {
	tests := map[string]struct {
		annotation, lastHandled string
		wantPending             bool
	}{
		"no annotation":                 {annotation: "", lastHandled: "", wantPending: false},
		"a new value":                   {annotation: "2026-12-01T10:00:00Z", lastHandled: "", wantPending: true},
		"a value already handled":       {annotation: "2026-12-01T10:00:00Z", lastHandled: "2026-12-01T10:00:00Z", wantPending: false},
		"a value after the handled one": {annotation: "2", lastHandled: "1", wantPending: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			app := &ssov1.OktaSAMLApp{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{}}}
			if tc.annotation != "" {
				app.Annotations[ssov1.RotateSigningKeyAnnotation] = tc.annotation
			}
			value, pending := pendingRequest(app, ssov1.RotateSigningKeyAnnotation, tc.lastHandled)
			if pending != tc.wantPending || value != tc.annotation {
				t.Errorf("pendingRequest = %q, %v; want %q, %v", value, pending, tc.annotation, tc.wantPending)
			}
		})
	}
}

func TestRequestAnnotationChanged(t *testing.T) {
	tests := map[string]struct {
		old, new map[string]string
		want     bool
	}{
		"a reconcile request":       {old: nil, new: map[string]string{ssov1.ReconcileRequestAnnotation: "1"}, want: true},
		"a rotate request":          {old: nil, new: map[string]string{ssov1.RotateSigningKeyAnnotation: "1"}, want: true},
		"a new promote request":     {old: map[string]string{ssov1.PromoteSigningKeyAnnotation: "1"}, new: map[string]string{ssov1.PromoteSigningKeyAnnotation: "2"}, want: true},
		"the operator's own marker": {old: nil, new: map[string]string{ssov1.CreatePendingAnnotation: "x"}, want: false},
		"an unrelated annotation":   {old: nil, new: map[string]string{"team": "a"}, want: false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e := event.UpdateEvent{
				ObjectOld: &ssov1.SSOBinding{ObjectMeta: metav1.ObjectMeta{Annotations: tc.old}},
				ObjectNew: &ssov1.SSOBinding{ObjectMeta: metav1.ObjectMeta{Annotations: tc.new}},
			}
			if got := requestAnnotationChanged.Update(e); got != tc.want {
				t.Errorf("requestAnnotationChanged = %v, want %v", got, tc.want)
			}
		})
	}
}
