package controller

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
	"github.com/oktaop/okta-sso-operator/internal/accountsync"
	"github.com/oktaop/okta-sso-operator/internal/okta"
	oktaorg "github.com/oktaop/okta-sso-operator/internal/org"
	"github.com/oktaop/okta-sso-operator/internal/scim"
)

// syncSummary exposes the last run's counts (no names, no values).
var syncSummary = prometheus.NewGaugeVec(prometheus.GaugeOpts{
	Name: "accountsync_last_run_accounts",
	Help: "What the last AccountSync run saw and did, by count (matched, unmatched, created, updated, deactivated, reactivated, failed).",
}, []string{"namespace", "name", "count"})

func init() { ctrlmetrics.Registry.MustRegister(syncSummary) }

// writeConcurrency bounds the writes one run sends to the target at once.
const writeConcurrency = 4

// run is one sync: list the target's accounts, plan Okta's users page by
// page against them, check the safeguard, and apply (or, dry, only report).
// A read that failed or was cut short stops the run before anything is
// applied: nobody is deactivated for it.
func (r *AccountSyncReconciler) run(ctx context.Context, s *ssov1.AccountSync, conds conditions, mappings []accountsync.Mapping, acknowledged bool) (time.Duration, error) {
	start := r.Now()
	app, org, err := orgThroughApp(ctx, r, r.Orgs, s.Namespace, s.Spec.AppRef)
	if err != nil {
		return 0, err
	}
	ctx = org.Scope(ctx, s.Namespace)
	target, err := r.target(ctx, s, org)
	if err != nil {
		return 0, err
	}
	// From here on it is a run: its time is recorded, whatever its end.
	defer func() {
		at := metav1.NewTime(start)
		s.Status.LastSyncTime = &at
		s.Status.LastSyncDuration = &metav1.Duration{Duration: r.Now().Sub(start).Round(time.Millisecond)}
	}()
	config, err := target.ServiceProviderConfig(ctx)
	if err != nil {
		return 0, targetError(err)
	}
	matchOkta, matchTarget := orDefault(s.Spec.Match.OktaAttribute, "email"), orDefault(s.Spec.Match.TargetAttribute, "userName")
	accounts, err := targetAccounts(ctx, target, config, accountKeep(config, matchTarget, mappings))
	if err != nil {
		return 0, err
	}
	planner := accountsync.NewPlanner(accountsync.Input{
		Mode: accountsync.Mode(orDefault(string(s.Spec.Mode), string(ssov1.SyncModeMatch))), Accounts: accounts,
		MatchOkta: matchOkta, MatchTarget: matchTarget,
		Mappings: mappings, MaxDeactivationPercent: maxDeactivationPercent(s),
	})
	if err := oktaUsers(ctx, org.Client, app.Status.AppID, accountsync.ProfileFields(mappings, matchOkta, "login"),
		accountsync.AppProfileFields(mappings), planner.Add); err != nil {
		return 0, err
	}
	plan := planner.Finish()
	r.report(s, plan, accountsync.Applied{})
	if !acknowledged {
		if err := r.safeguards(ctx, s, org, plan); err != nil {
			return 0, err
		}
	}
	if s.Spec.DryRun {
		r.Recorder.Event(s, corev1.EventTypeNormal, ssov1.DryRunReason, "A run would do: "+describePlan(plan))
		conds.set(ssov1.ReadyCondition, metav1.ConditionFalse, ssov1.DryRunReason, "spec.dryRun is true; the last run would do: "+describePlan(plan))
		conds.set(ssov1.SyncedCondition, metav1.ConditionTrue, ssov1.DryRunReason, "The plan is computed and nothing was written")
		return r.finished(s, org, start), nil
	}
	applied := accountsync.Apply(ctx, target, config, plan, accounts, writeConcurrency)
	r.report(s, plan, applied)
	recordDeactivations(s, start, applied.Deactivated)
	if applied.Err != nil {
		return 0, targetError(applied.Err)
	}
	if err := r.pushGroups(ctx, s, org, target, plan, applied, accounts); err != nil {
		return 0, err
	}
	summary := s.Status.Summary
	r.Recorder.Event(s, corev1.EventTypeNormal, "Synced", fmt.Sprintf("%d Okta users, %d accounts: %d matched, %d unmatched, %d created, %d updated, %d deactivated, %d reactivated, %d failed, %d groups pushed",
		summary.OktaUsers, summary.TargetAccounts, summary.Matched, summary.Unmatched, summary.Created, summary.Updated, summary.Deactivated, summary.Reactivated, summary.Failed, summary.GroupsPushed))
	conds.succeeded(ssov1.ReconcileSucceededReason, fmt.Sprintf("Last run: %d matched, %d unmatched, %d failed", summary.Matched, summary.Unmatched, summary.Failed))
	return r.finished(s, org, start), nil
}

// safeguards holds a run that would deactivate too much: over the sync's
// own share, or over the org's in 24 hours. A held run changes nothing.
func (r *AccountSyncReconciler) safeguards(ctx context.Context, s *ssov1.AccountSync, org *Org, plan accountsync.Plan) error {
	var own error
	if plan.SafeguardTripped {
		own = &errCondition{reason: ssov1.SafeguardTrippedReason, stalled: true,
			msg: fmt.Sprintf("The run would deactivate %d of %d active accounts, over spec.safeguard.maxDeactivationPercent (%d%%): nothing was changed. Check the app's assignments in Okta; to go on, set the %s annotation",
				len(plan.Deactivate), plan.ActiveAccounts, maxDeactivationPercent(s), ssov1.ReconcileRequestAnnotation)}
	}
	return r.holdOr(ctx, s, org, plan, own)
}

// holdOr holds the plan for the sync's own safeguard (own), or else for the
// org's, with a warning event either way; nil lets it go on.
func (r *AccountSyncReconciler) holdOr(ctx context.Context, s *ssov1.AccountSync, org *Org, plan accountsync.Plan, own error) error {
	held := own
	if held == nil {
		var err error
		if held, err = r.orgSafeguard(ctx, s, org, plan); err != nil {
			return err
		}
	}
	if held != nil {
		r.Recorder.Event(s, corev1.EventTypeWarning, ssov1.SafeguardTrippedReason, held.Error())
	}
	return held
}

// pushGroups pushes spec.groupPush (Provision mode) once the accounts are
// written, and counts the groups changed in the summary.
func (r *AccountSyncReconciler) pushGroups(ctx context.Context, s *ssov1.AccountSync, org *Org, target *scim.Client,
	plan accountsync.Plan, applied accountsync.Applied, accounts []accountsync.Attributes) error {
	if s.Spec.Mode != ssov1.SyncModeProvision || len(s.Spec.GroupPush) == 0 {
		return nil
	}
	var pushes []accountsync.GroupPush
	for _, gp := range s.Spec.GroupPush {
		group, err := org.Client.FindGroupByName(ctx, gp.OktaGroup)
		if okta.IsNotFound(err) {
			r.Recorder.Event(s, corev1.EventTypeWarning, ssov1.SubjectNotFoundReason, "groupPush: Okta has no group named "+gp.OktaGroup+"; it was not pushed")
			s.Status.Summary.Failed++
			continue
		}
		if err != nil {
			return &errCondition{reason: ssov1.SourceIncompleteReason, transient: true, msg: "Reading group " + gp.OktaGroup + " in Okta failed: " + err.Error()}
		}
		members, err := org.Client.ListGroupMembers(ctx, group.ID)
		if err != nil {
			return &errCondition{reason: ssov1.SourceIncompleteReason, transient: true, msg: "Listing the members of group " + gp.OktaGroup + " failed: " + err.Error()}
		}
		push := accountsync.GroupPush{OktaGroupID: group.ID, TargetName: orDefault(gp.TargetName, gp.OktaGroup)}
		for _, m := range members {
			push.Members = append(push.Members, m.ID)
		}
		pushes = append(pushes, push)
	}
	pushed, conflicts, err := accountsync.PushGroups(ctx, target, pushes, accountsync.AccountsByUser(plan, applied), accountsync.ManagedAccounts(accounts, applied))
	s.Status.Summary.GroupsPushed = int32(pushed)
	for _, c := range conflicts {
		r.Recorder.Event(s, corev1.EventTypeWarning, "GroupPushConflict", c.Error())
		s.Status.Summary.Failed++
	}
	if err != nil {
		return targetError(err)
	}
	return nil
}

// finished records a successful run and returns when the next is due; the
// System Log is followed from the run's start.
func (r *AccountSyncReconciler) finished(s *ssov1.AccountSync, org *Org, start time.Time) time.Duration {
	done, next := metav1.NewTime(start), metav1.NewTime(start.Add(s.ReconcileInterval()))
	s.Status.LastSuccessfulSyncTime, s.Status.NextSyncTime = &done, &next
	s.Status.Following = nil
	if org.LogPoll > 0 {
		s.Status.Following = followFrom(s, start)
	}
	return s.ReconcileInterval()
}

// target builds the SCIM client from the credential Secret in the sync's
// own namespace; an Okta org's credential is never sent to a target.
// target is the SCIM client of the sync's service provider; it connects
// only where the org lets the namespace connect (allowedTargets).
func (r *AccountSyncReconciler) target(ctx context.Context, s *ssov1.AccountSync, org *Org) (*scim.Client, error) {
	token, err := oktaorg.OutboundSecret(ctx, r, r.Orgs, s.Namespace, s.Spec.Target.SCIM.AuthSecretRef, "target.scim.authSecretRef")
	if err != nil {
		return nil, err
	}
	c, err := scim.New(scim.Config{BaseURL: string(s.Spec.Target.SCIM.URL), AuthType: string(s.Spec.Target.SCIM.AuthType), Token: string(token),
		Dial: org.Targets.DialContext})
	if err != nil {
		return nil, &errInvalidSpec{err.Error()}
	}
	return c, nil
}

// oktaUsers lists the app's users with their profiles, handing each page
// to add with only what the run reads of each profile (nil keeps all), so
// the whole listing is never held. A rate limit is Throttled; any other
// failure is SourceIncomplete.
func oktaUsers(ctx context.Context, c okta.API, appID string, keepProfile, keepAppProfile map[string]bool, add func([]accountsync.OktaUser)) error {
	err := c.ListAppUsersWithProfiles(ctx, appID, func(page []okta.AppUser) error {
		users := make([]accountsync.OktaUser, 0, len(page))
		for _, au := range page {
			if au.Embedded == nil || au.Embedded.User == nil || au.Embedded.User.Profile == nil {
				return fmt.Errorf("okta listed user %s without its profile", au.ID)
			}
			users = append(users, accountsync.OktaUser{ID: au.ID, Status: au.Embedded.User.Status,
				Profile: accountsync.Keep(au.Embedded.User.Profile, keepProfile), AppProfile: accountsync.Keep(au.Profile, keepAppProfile)})
		}
		add(users)
		return nil
	})
	if _, limited := okta.IsRateLimited(err); limited || okta.IsAuth(err) {
		return err
	}
	if err != nil {
		return &errCondition{reason: ssov1.SourceIncompleteReason, transient: true,
			msg: "Listing the app's users in Okta failed, so the run changed nothing and deactivated nobody: " + err.Error()}
	}
	return nil
}

// accountKeep is what a run reads of an account: its identity, its state,
// the match attribute and the mapped ones (top-level names). A target
// without PATCH support gets whole accounts back in PUTs, so all is kept.
func accountKeep(config scim.ServiceProviderConfig, matchTarget string, mappings []accountsync.Mapping) map[string]bool {
	if !config.Patch {
		return nil
	}
	keep := map[string]bool{"id": true, "externalId": true, "userName": true, "active": true, topLevel(matchTarget): true}
	for _, m := range mappings {
		keep[topLevel(m.Target)] = true
	}
	return keep
}

func topLevel(path string) string {
	name, _, _ := strings.Cut(path, ".")
	return name
}

// targetAccounts lists the target's accounts, keeping of each what the run
// reads (nil keeps all), page by page.
func targetAccounts(ctx context.Context, target *scim.Client, config scim.ServiceProviderConfig, keep map[string]bool) ([]accountsync.Attributes, error) {
	var accounts []accountsync.Attributes
	err := target.ListUserPages(ctx, "", config.MaxResults, func(page []scim.Resource) error {
		for _, r := range page {
			accounts = append(accounts, accountsync.Keep(r, keep))
		}
		return nil
	})
	if err != nil {
		return nil, targetError(err)
	}
	return accounts, nil
}

// targetError names a SCIM failure's reason; nothing is deactivated for it.
func targetError(err error) error {
	switch {
	case isTargetRefused(err):
		return &oktaorg.PolicyDeniedError{Msg: "target.scim.url: " + err.Error()}
	case scim.IsAuth(err):
		return &errCondition{reason: ssov1.AuthFailedReason, msg: "The service provider refused the SCIM credential: " + err.Error()}
	case scim.IsInvalidResponse(err):
		return &errCondition{reason: ssov1.InvalidResponseReason, transient: true, msg: "The service provider's answer is not usable, so the run deactivated nobody: " + err.Error()}
	}
	return &errCondition{reason: ssov1.TargetUnavailableReason, transient: true, msg: "The service provider is unavailable, so the run deactivated nobody: " + err.Error()}
}

// report puts the plan (and what was applied) in status and the gauges.
func (r *AccountSyncReconciler) report(s *ssov1.AccountSync, plan accountsync.Plan, applied accountsync.Applied) {
	summary := &ssov1.SyncSummary{
		OktaUsers: int32(len(plan.Matched) + plan.Unmatched), TargetAccounts: int32(plan.TargetAccounts),
		Matched: int32(len(plan.Matched)), Unmatched: int32(plan.Unmatched),
		Created: int32(applied.Created), Updated: int32(applied.Updated), Deactivated: int32(applied.Deactivated),
		Reactivated: int32(applied.Reactivated), Failed: int32(len(plan.Failed) + applied.Failed),
	}
	s.Status.Summary = summary
	s.Status.Unmatched = nil
	for _, u := range plan.UnmatchedUsers {
		login, _ := u.Profile.Get("login").(string)
		value, _ := u.Profile.Get(orDefault(s.Spec.Match.OktaAttribute, "email")).(string)
		s.Status.Unmatched = append(s.Status.Unmatched, ssov1.UnmatchedUser{Login: login, MatchValue: value})
	}
	for name, n := range map[string]int32{"matched": summary.Matched, "unmatched": summary.Unmatched, "created": summary.Created,
		"updated": summary.Updated, "deactivated": summary.Deactivated, "reactivated": summary.Reactivated, "failed": summary.Failed} {
		syncSummary.WithLabelValues(s.Namespace, s.Name, name).Set(float64(n))
	}
}
