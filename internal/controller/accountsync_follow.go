package controller

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
	"github.com/oktaop/okta-sso-operator/internal/accountsync"
	"github.com/oktaop/okta-sso-operator/internal/okta"
	"github.com/oktaop/okta-sso-operator/internal/scim"
)

// followPass is an incremental pass: the users System Log events named,
// planned with the run's planner and mappings against just their accounts,
// and applied (Provision) or reported (Match). Deactivations count toward
// the safeguards' 24-hour window as a run's do. A user who is not assigned
// to the app and has not left it costs one Okta read and no SCIM call.
func (r *AccountSyncReconciler) followPass(ctx context.Context, s *ssov1.AccountSync, conds conditions, mappings []accountsync.Mapping, work accountsync.Followed) error {
	start := r.Now()
	if len(work.Users) == 0 { // only the cursor moves
		r.recordFollowed(s, work, accountsync.Plan{}, accountsync.Applied{}, start)
		return nil
	}
	app, org, err := orgThroughApp(ctx, r, r.Orgs, s.Namespace, s.Spec.AppRef)
	if err != nil {
		return err
	}
	ctx = org.Scope(ctx, s.Namespace)
	matchOkta, matchTarget := orDefault(s.Spec.Match.OktaAttribute, "email"), orDefault(s.Spec.Match.TargetAttribute, "userName")
	named, err := oktaSideOf(ctx, org.Client, app.Status.AppID, work.Users, matchOkta, mappings)
	if err != nil {
		return err
	}
	if len(named) == 0 { // none of them is, or was, the app's: nothing to ask the target
		r.recordFollowed(s, work, accountsync.Plan{}, accountsync.Applied{}, start)
		return nil
	}
	target, err := r.target(ctx, s, org)
	if err != nil {
		return err
	}
	config, err := target.ServiceProviderConfig(ctx)
	if err != nil {
		return targetError(err)
	}
	users, accounts, err := accountsOf(ctx, target, config, named, matchOkta, matchTarget, mappings)
	if err != nil {
		return err
	}
	planner := accountsync.NewPlanner(accountsync.Input{
		Mode: accountsync.Mode(orDefault(string(s.Spec.Mode), string(ssov1.SyncModeMatch))), Accounts: accounts,
		MatchOkta: matchOkta, MatchTarget: matchTarget, Mappings: mappings,
		MaxDeactivationPercent: 100, // a pass's share of its few accounts says nothing; the window below does
	})
	planner.Add(users)
	plan := planner.Finish()
	if err := r.followSafeguards(ctx, s, org, plan); err != nil {
		return err
	}
	var applied accountsync.Applied
	if s.Spec.Mode == ssov1.SyncModeProvision && !s.Spec.DryRun {
		applied = accountsync.Apply(ctx, target, config, plan, accounts, writeConcurrency)
		recordDeactivations(s, start, applied.Deactivated)
		if applied.Err != nil {
			return targetError(applied.Err)
		}
	}
	r.recordFollowed(s, work, plan, applied, start)
	f := s.Status.Following
	if s.Spec.Mode == ssov1.SyncModeProvision && !s.Spec.DryRun {
		r.Recorder.Event(s, corev1.EventTypeNormal, ssov1.FollowedSystemLogReason, fmt.Sprintf("%d users from the System Log: %d created, %d updated, %d deactivated, %d reactivated, %d failed",
			len(work.Users), applied.Created, applied.Updated, applied.Deactivated, applied.Reactivated, len(plan.Failed)+applied.Failed))
	} else { // Match mode reports the pairing; a dry run what it would do
		why := "Match mode"
		if s.Spec.DryRun {
			why = "dry run"
		}
		r.Recorder.Event(s, corev1.EventTypeNormal, ssov1.FollowedSystemLogReason, fmt.Sprintf("%d users from the System Log; nothing written (%s): %s",
			len(work.Users), why, describePlan(plan)))
	}
	conds.succeeded(ssov1.ReconcileSucceededReason, fmt.Sprintf("Following the System Log: %d passes since the last run, the last event at %s", f.Passes, f.Cursor.Published))
	return nil
}

// namedUser is a user an event named, as Okta has them now: assigned to
// the app (user set) or not, in which case only an account the sync
// linked to them can be theirs.
type namedUser struct {
	id   string
	user *accountsync.OktaUser
}

// oktaSideOf reads each named user's assignment (and, when assigned,
// profile) in Okta, in ID order, and keeps those that are the app's or
// that an event says may have left it.
func oktaSideOf(ctx context.Context, c okta.API, appID string, named map[string]bool, matchOkta string, mappings []accountsync.Mapping) ([]namedUser, error) {
	keepProfile, keepAppProfile := accountsync.ProfileFields(mappings, matchOkta, "login"), accountsync.AppProfileFields(mappings)
	ids := make([]string, 0, len(named))
	for id := range named {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var out []namedUser
	for _, id := range ids {
		assignment, err := c.GetAppUser(ctx, appID, id)
		if okta.IsNotFound(err) {
			if named[id] { // left the app: their linked account, if any, is looked at
				out = append(out, namedUser{id: id})
			}
			continue
		}
		if err != nil {
			return nil, followReadError(err)
		}
		user, err := c.GetUser(ctx, id)
		if err != nil {
			return nil, followReadError(err)
		}
		out = append(out, namedUser{id: id, user: &accountsync.OktaUser{ID: id, Status: user.Status,
			Profile: accountsync.Keep(user.Profile, keepProfile), AppProfile: accountsync.Keep(assignment.Profile, keepAppProfile)}})
	}
	return out, nil
}

// accountsOf finds the accounts the named users could pair with: by
// externalId (the accounts the sync links) and by the match attribute.
func accountsOf(ctx context.Context, target *scim.Client, config scim.ServiceProviderConfig, named []namedUser,
	matchOkta, matchTarget string, mappings []accountsync.Mapping) ([]accountsync.OktaUser, []accountsync.Attributes, error) {
	keepAccount := accountKeep(config, matchTarget, mappings)
	var users []accountsync.OktaUser
	var accounts []accountsync.Attributes
	seen := map[string]bool{}
	for _, n := range named {
		filter := "externalId eq " + strconv.Quote(n.id)
		if n.user != nil {
			users = append(users, *n.user)
			if v, ok := n.user.Profile.Get(matchOkta).(string); ok && v != "" {
				filter += " or " + matchTarget + " eq " + strconv.Quote(v)
			}
		}
		found, err := target.ListUsers(ctx, filter, config.MaxResults)
		if err != nil {
			return nil, nil, targetError(err)
		}
		for _, a := range found {
			if !seen[a.ID()] {
				seen[a.ID()] = true
				accounts = append(accounts, accountsync.Keep(a, keepAccount))
			}
		}
	}
	return users, accounts, nil
}

func followReadError(err error) error {
	if _, limited := okta.IsRateLimited(err); limited || okta.IsAuth(err) {
		return err
	}
	return &errCondition{reason: ssov1.SourceIncompleteReason, transient: true,
		msg: "Reading a user the System Log named failed, so the pass changed nothing: " + err.Error()}
}

// followSafeguards holds a pass whose deactivations would take the sync's
// 24-hour window over spec.safeguard.maxDeactivationPercent of the accounts
// its last run saw, or the org's over its share: a burst of deactivations
// in Okta trips it as one run would.
func (r *AccountSyncReconciler) followSafeguards(ctx context.Context, s *ssov1.AccountSync, org *Org, plan accountsync.Plan) error {
	if len(plan.Deactivate) == 0 {
		return nil
	}
	// What the target holds: after the last run, and what passes since created.
	accounts := 0
	if sum := s.Status.Summary; sum != nil {
		accounts = int(sum.TargetAccounts + sum.Created)
	}
	if f := s.Status.Following; f != nil {
		accounts += int(f.Created)
	}
	total := recentDeactivations(s, r.Now()) + len(plan.Deactivate)
	var own error
	if total*100 > maxDeactivationPercent(s)*accounts {
		own = &errCondition{reason: ssov1.SafeguardTrippedReason, stalled: true,
			msg: fmt.Sprintf("Following the System Log would bring this sync's deactivations in 24 hours to %d of %d accounts, over spec.safeguard.maxDeactivationPercent (%d%%): nothing was changed. Check the app's assignments in Okta; to go on, set the %s annotation",
				total, accounts, maxDeactivationPercent(s), ssov1.ReconcileRequestAnnotation)}
	}
	plan.ActiveAccounts = accounts // the org's safeguard counts this sync's accounts as its last run saw them
	return r.holdOr(ctx, s, org, plan, own)
}

// recordFollowed puts the pass's cursor and counts in status.
func (r *AccountSyncReconciler) recordFollowed(s *ssov1.AccountSync, work accountsync.Followed, plan accountsync.Plan, applied accountsync.Applied, start time.Time) {
	f := s.Status.Following
	if f == nil {
		f = &ssov1.FollowStatus{}
		s.Status.Following = f
	}
	f.Cursor = ssov1.LogCursor{Published: work.Cursor.Published.UTC().Format(time.RFC3339Nano), EventIDs: work.Cursor.SortedIDs()}
	if !work.LastEvent.IsZero() {
		at := metav1.NewTime(work.LastEvent)
		f.LastEventTime = &at
	}
	if len(work.Users) == 0 {
		return
	}
	done := metav1.NewTime(r.Now())
	f.LastPassTime = &done
	f.Passes++
	f.Users += int32(len(work.Users))
	f.Created += int32(applied.Created)
	f.Updated += int32(applied.Updated)
	f.Deactivated += int32(applied.Deactivated)
	f.Reactivated += int32(applied.Reactivated)
	f.Failed += int32(len(plan.Failed) + applied.Failed)
}

// followFrom is where a full run that started at start leaves the sync in
// the log: the counts start again, and the cursor is not before the run
// (which saw everything up to then).
func followFrom(s *ssov1.AccountSync, start time.Time) *ssov1.FollowStatus {
	// Okta's published times are in milliseconds: the run's own
	// millisecond is followed whole (an event applied twice changes nothing).
	start = start.UTC().Truncate(time.Millisecond)
	next := &ssov1.FollowStatus{Cursor: ssov1.LogCursor{Published: start.Format(time.RFC3339Nano)}}
	if f := s.Status.Following; f != nil {
		if at, err := time.Parse(time.RFC3339Nano, f.Cursor.Published); err == nil && !at.Before(start) {
			next.Cursor = f.Cursor
		}
		next.LastEventTime = f.LastEventTime
	}
	return next
}
