// Package org holds what decides how an object may reach an Okta org: which
// namespaces a ClusterOktaOrg allows. The decisions are pure: the object's
// namespace and the org's rules in, allowed or the reason out.
package org

import (
	"fmt"
	"regexp"
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
)

// NeedsLabels tells whether deciding needs the namespace's labels (a
// selector), so a caller reads the Namespace object only then.
func NeedsLabels(conditions []ssov1.NamespaceCondition) bool {
	return slices.ContainsFunc(conditions, func(c ssov1.NamespaceCondition) bool { return c.NamespaceSelector != nil })
}

// Allows tells whether a ClusterOktaOrg's conditions let the namespace use
// it: any entry that matches allows it; no entries allow every namespace
// (as External Secrets' ClusterSecretStore). An entry matches when its
// name list holds the namespace, one of its regular expressions matches
// the name (anywhere, as in External Secrets: anchor it, ^team-), or its
// selector matches the labels. ns carries the
// labels only when NeedsLabels said so. An entry that cannot be read (a
// regular expression that does not compile, a bad selector) is an error:
// it allows nothing, and the message names it.
func Allows(conditions []ssov1.NamespaceCondition, ns *corev1.Namespace) (bool, error) {
	if len(conditions) == 0 {
		return true, nil
	}
	for i, c := range conditions {
		ok, err := matches(c, ns)
		if err != nil {
			return false, fmt.Errorf("conditions[%d]: %w", i, err)
		}
		if ok {
			return true, nil
		}
	}
	return false, nil
}

func matches(c ssov1.NamespaceCondition, ns *corev1.Namespace) (bool, error) {
	if slices.Contains(c.Namespaces, ns.Name) {
		return true, nil
	}
	for _, expr := range c.NamespaceRegexes {
		re, err := regexp.Compile(expr)
		if err != nil {
			return false, fmt.Errorf("namespaceRegexes %q: %w", expr, err)
		}
		if re.MatchString(ns.Name) {
			return true, nil
		}
	}
	if c.NamespaceSelector == nil {
		return false, nil
	}
	selector, err := metav1.LabelSelectorAsSelector(c.NamespaceSelector)
	if err != nil {
		return false, fmt.Errorf("namespaceSelector: %w", err)
	}
	return !selector.Empty() && selector.Matches(labels.Set(ns.Labels)), nil
}
