package org

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
)

func TestAllows(t *testing.T) {
	teamA := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-a", Labels: map[string]string{"okta": "allowed"}}}
	other := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "payments"}}
	tests := map[string]struct {
		conditions []ssov1.NamespaceCondition
		ns         *corev1.Namespace
		want       bool
		wantErr    bool
	}{
		"no conditions: every namespace":            {ns: other, want: true},
		"by name":                                   {conditions: []ssov1.NamespaceCondition{{Namespaces: []string{"team-a"}}}, ns: teamA, want: true},
		"by name, another namespace":                {conditions: []ssov1.NamespaceCondition{{Namespaces: []string{"team-a"}}}, ns: other},
		"by regex":                                  {conditions: []ssov1.NamespaceCondition{{NamespaceRegexes: []string{"^team-"}}}, ns: teamA, want: true},
		"an unanchored regex matches anywhere":      {conditions: []ssov1.NamespaceCondition{{NamespaceRegexes: []string{"ments"}}}, ns: other, want: true},
		"an anchored regex does not":                {conditions: []ssov1.NamespaceCondition{{NamespaceRegexes: []string{"^ments"}}}, ns: other},
		"by label":                                  {conditions: []ssov1.NamespaceCondition{{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"okta": "allowed"}}}}, ns: teamA, want: true},
		"by label, unlabelled":                      {conditions: []ssov1.NamespaceCondition{{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"okta": "allowed"}}}}, ns: other},
		"an empty selector allows nothing":          {conditions: []ssov1.NamespaceCondition{{NamespaceSelector: &metav1.LabelSelector{}}}, ns: other},
		"any entry allows":                          {conditions: []ssov1.NamespaceCondition{{Namespaces: []string{"x"}}, {NamespaceRegexes: []string{"^pay"}}}, ns: other, want: true},
		"a regex that does not compile is an error": {conditions: []ssov1.NamespaceCondition{{NamespaceRegexes: []string{"(team"}}}, ns: teamA, wantErr: true},
		"an empty entry allows nothing":             {conditions: []ssov1.NamespaceCondition{{}}, ns: teamA},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := Allows(tc.conditions, tc.ns)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Fatalf("Allows = %v, %v; want %v (error %v)", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestNeedsLabels(t *testing.T) {
	if NeedsLabels([]ssov1.NamespaceCondition{{Namespaces: []string{"a"}}, {NamespaceRegexes: []string{"^b"}}}) {
		t.Error("names and regexes need no Namespace read")
	}
	if !NeedsLabels([]ssov1.NamespaceCondition{{NamespaceSelector: &metav1.LabelSelector{}}}) {
		t.Error("a selector needs the labels")
	}
}
