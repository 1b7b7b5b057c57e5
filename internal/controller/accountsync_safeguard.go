package controller

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
	"github.com/oktaop/okta-sso-operator/internal/accountsync"
)

// safeguardWindow is how far back the org-level safeguard counts, as Okta's
// import safeguard does.
const safeguardWindow = 24 * time.Hour

// orgSafeguard checks Okta's org-level import safeguard: all AccountSyncs
// of one org together may deactivate at most the org Secret's
// maxOrgDeactivationPercent (default 20) of their accounts in 24 hours. It
// returns the held run's reason when this run would go over (held), or a
// failure to count (err).
func (r *AccountSyncReconciler) orgSafeguard(ctx context.Context, s *ssov1.AccountSync, org *Org, plan accountsync.Plan) (held, err error) {
	if len(plan.Deactivate) == 0 {
		return nil, nil
	}
	deactivated, accounts := recentDeactivations(s, r.Now()), plan.ActiveAccounts
	var all ssov1.AccountSyncList
	if err := r.List(ctx, &all); err != nil {
		return nil, err
	}
	for i := range all.Items {
		other := &all.Items[i]
		if other.UID == s.UID || other.Status.Summary == nil || !r.sameOrg(ctx, other, org) {
			continue
		}
		deactivated += recentDeactivations(other, r.Now())
		accounts += int(other.Status.Summary.TargetAccounts)
	}
	total := deactivated + len(plan.Deactivate)
	if total*100 <= org.MaxDeactivationPercent*accounts {
		return nil, nil
	}
	msg := fmt.Sprintf("Applying this would bring the deactivations of the org's AccountSyncs in 24 hours to %d of %d accounts, over the org's maxOrgDeactivationPercent (%d%%): nothing was changed. Check the org's assignments in Okta; to go on, set the %s annotation",
		total, accounts, org.MaxDeactivationPercent, ssov1.ReconcileRequestAnnotation)
	return &errCondition{reason: ssov1.SafeguardTrippedReason, msg: msg, stalled: true}, nil
}

// sameOrg tells whether another sync reaches the same Okta org (by URL,
// whichever namespace's Secret it uses).
func (r *AccountSyncReconciler) sameOrg(ctx context.Context, other *ssov1.AccountSync, org *Org) bool {
	app := &ssov1.OktaSAMLApp{}
	if err := r.Get(ctx, client.ObjectKey{Namespace: other.Namespace, Name: string(other.Spec.AppRef.Name)}, app); err != nil {
		return false
	}
	theirs, err := r.Orgs.Get(ctx, other.Namespace, app.Spec.OrgRef)
	return err == nil && theirs.URL == org.URL
}

// recentDeactivations adds up a sync's deactivations in the window.
func recentDeactivations(s *ssov1.AccountSync, now time.Time) int {
	n := 0
	for _, d := range s.Status.RecentDeactivations {
		if now.Sub(d.At.Time) < safeguardWindow {
			n += int(d.Count)
		}
	}
	return n
}

// recordDeactivations keeps this run's deactivations, and drops those out
// of the window.
func recordDeactivations(s *ssov1.AccountSync, start time.Time, count int) {
	kept := s.Status.RecentDeactivations[:0]
	for _, d := range s.Status.RecentDeactivations {
		if start.Sub(d.At.Time) < safeguardWindow {
			kept = append(kept, d)
		}
	}
	if count > 0 {
		kept = append(kept, ssov1.DeactivationRecord{At: metav1.NewTime(start), Count: int32(count)})
	}
	if len(kept) == 0 {
		kept = nil
	}
	s.Status.RecentDeactivations = kept
}
