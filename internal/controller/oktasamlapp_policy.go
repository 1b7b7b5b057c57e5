package controller

// The app's sign-on (authentication) policy: signOn.authenticationPolicy
// names it; the app's own link in Okta says which one it has, so a check
// in step costs no call beyond the app's GET.

import (
	"context"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
	"github.com/oktaop/okta-sso-operator/internal/okta"
)

// ensureAuthenticationPolicy assigns the policy the spec names when the
// app has another, and puts it back when it was changed in Okta. Without
// the field the app keeps whatever policy it has.
func (r *OktaSAMLAppReconciler) ensureAuthenticationPolicy(ctx context.Context, c okta.API, app *ssov1.OktaSAMLApp, oktaApp *okta.App) error {
	ref := app.Spec.SignOn.AuthenticationPolicy
	if ref == nil {
		app.Status.AuthenticationPolicy = nil
		return nil
	}
	if oktaApp.Links.AccessPolicy == nil {
		return &errInvalidSpec{"signOn.authenticationPolicy is set, but this org has no app sign-on policies (a Classic Engine org); remove the field"}
	}
	want, err := r.resolvePolicy(ctx, c, app, ref, false)
	if err != nil {
		return err
	}
	if oktaApp.AccessPolicyID() == want.ID {
		app.Status.AuthenticationPolicy = want
		return nil
	}
	err = c.AssignAccessPolicy(ctx, oktaApp.ID, want.ID)
	if okta.IsNotFound(err) && ref.Name != "" {
		// Resolved earlier and deleted since: find the name again once.
		if want, err = r.resolvePolicy(ctx, c, app, ref, true); err == nil {
			err = c.AssignAccessPolicy(ctx, oktaApp.ID, want.ID)
		}
	}
	if okta.IsNotFound(err) {
		return &errDependency{fmt.Sprintf("signOn.authenticationPolicy: the org has no app sign-on policy %s", want.ID)}
	}
	if err != nil {
		return fmt.Errorf("assigning sign-on policy %s to app %s: %w", want.ID, oktaApp.ID, err)
	}
	if app.Status.AuthenticationPolicy != nil && *app.Status.AuthenticationPolicy == *want {
		r.Recorder.Eventf(app, corev1.EventTypeWarning, ssov1.DriftCorrectedReason, "The app's sign-on policy was changed in Okta; put back to %s", policyLabel(want))
	}
	app.Status.AuthenticationPolicy = want
	return nil
}

// resolvePolicy turns the reference into a policy ID: an ID as it is, a
// name through the status (resolved once; fresh forces a lookup) or the
// org's list of sign-on policies.
func (r *OktaSAMLAppReconciler) resolvePolicy(ctx context.Context, c okta.API, app *ssov1.OktaSAMLApp, ref *ssov1.PolicyReference, fresh bool) (*ssov1.PolicyStatus, error) {
	if ref.ID != "" {
		return &ssov1.PolicyStatus{ID: ref.ID}, nil
	}
	if known := app.Status.AuthenticationPolicy; !fresh && known != nil && known.Name == ref.Name {
		return known, nil
	}
	policies, err := c.ListAccessPolicies(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing app sign-on policies: %w", err)
	}
	names := make([]string, 0, len(policies))
	for _, p := range policies {
		if strings.EqualFold(p.Name, ref.Name) { // Okta's policy names are unique regardless of case
			return &ssov1.PolicyStatus{ID: p.ID, Name: ref.Name}, nil
		}
		names = append(names, p.Name)
	}
	sort.Strings(names)
	// Looked for again on the interval: an admin (or Terraform) may be
	// about to make it.
	return nil, &errDependency{fmt.Sprintf("signOn.authenticationPolicy: the org has no app sign-on policy named %q; it has: %s",
		ref.Name, strings.Join(names, ", "))}
}

func policyLabel(p *ssov1.PolicyStatus) string {
	if p.Name != "" {
		return fmt.Sprintf("%q (%s)", p.Name, p.ID)
	}
	return p.ID
}
