package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
	"github.com/oktaop/okta-sso-operator/internal/assign"
	"github.com/oktaop/okta-sso-operator/internal/okta"
)

// readAssignments reads the app's group and user assignments: one paged
// list each, in pages of Okta's maximum size.
func readAssignments(ctx context.Context, c okta.API, appID string) (map[assign.Ref]assign.Assignment, error) {
	groups, err := c.ListAppGroups(ctx, appID)
	if err != nil {
		return nil, fmt.Errorf("listing the app's groups: %w", err)
	}
	users, err := c.ListAppUsers(ctx, appID)
	if err != nil {
		return nil, fmt.Errorf("listing the app's users: %w", err)
	}
	current := make(map[assign.Ref]assign.Assignment, len(groups)+len(users))
	for _, g := range groups {
		current[assign.Ref{Kind: assign.Group, ID: g.ID}] = assign.Assignment{Priority: g.Priority, Profile: g.Profile, Direct: true}
	}
	for _, u := range users {
		current[assign.Ref{Kind: assign.User, ID: u.ID}] = assign.Assignment{Profile: u.Profile, Direct: u.Scope == "USER"}
	}
	return current, nil
}

// profileOf is the binding's app-user profile as Okta takes it.
func profileOf(b *ssov1.SSOBinding) map[string]any {
	if len(b.Spec.Profile) == 0 {
		return nil
	}
	out := make(map[string]any, len(b.Spec.Profile))
	for k, v := range b.Spec.Profile {
		var value any
		if err := json.Unmarshal(v.Raw, &value); err == nil {
			out[k] = value
		}
	}
	return out
}

// appliedPlan is what a pass changed: the record of what the operator has
// assigned, and what is assigned now.
type appliedPlan struct {
	made     []assign.Ref
	assigned map[assign.Ref]bool
}

func (a appliedPlan) countAssigned(refs []assign.Ref) int {
	n := 0
	for _, r := range refs {
		if a.assigned[r] {
			n++
		}
	}
	return n
}

// apply makes the plan's calls. A failure belongs to the binding the call
// was for (a profile Okta refuses is that binding's InvalidSpec, a group
// deleted in Okta its SubjectNotFound); a rate limit or an outage stops the
// pass and belongs to every binding. The record keeps what was done.
func (p *bindingPass) apply(ctx context.Context, org *Org, app *ssov1.OktaSAMLApp, plan assign.Plan, current map[assign.Ref]assign.Assignment) appliedPlan {
	appID := app.Status.AppID
	made := map[assign.Ref]bool{}
	for _, r := range plan.Made {
		made[r] = true
	}
	assigned := map[assign.Ref]bool{}
	for r := range current {
		assigned[r] = true
	}
	stop := func(err error) bool {
		if _, limited := okta.IsRateLimited(err); limited || !isBindingError(err) {
			for _, b := range p.bindings {
				p.errs[bindingKey(b)] = err
			}
			return true
		}
		return false
	}
	for _, w := range plan.Assign {
		err := assignOne(ctx, org.Client, appID, w)
		if err == nil {
			assigned[w.Ref] = true
			continue
		}
		if !w.Update {
			delete(made, w.Ref)
		}
		if okta.IsNotFound(err) {
			p.goneInOkta(org, w)
			continue
		}
		if stop(err) {
			return appliedPlan{made: refList(made), assigned: assigned}
		}
		p.setErr(w.By, &errInvalidSpec{fmt.Sprintf("Okta refused the assignment of %s: %v", p.subjectName(w.Ref), err)})
	}
	for _, rm := range plan.Remove {
		removed, err := p.removeOne(ctx, org, app, rm, assigned)
		if removed {
			delete(assigned, rm.Ref)
			delete(made, rm.Ref)
			continue
		}
		if !rm.HandMade {
			made[rm.Ref] = true // still there: still ours to remove
		}
		if err == nil {
			continue // held by a group; tried again later
		}
		if stop(err) {
			return appliedPlan{made: refList(made), assigned: assigned}
		}
		p.setErr(rm.By, err)
	}
	return appliedPlan{made: refList(made), assigned: assigned}
}

func assignOne(ctx context.Context, c okta.API, appID string, w assign.Want) error {
	if w.Ref.Kind == assign.Group {
		_, err := c.AssignGroup(ctx, appID, w.Ref.ID, okta.AppGroupAssignment{Priority: w.Priority, Profile: w.Profile})
		return err
	}
	_, err := c.AssignUser(ctx, appID, okta.AppUser{ID: w.Ref.ID, Scope: "USER", Profile: w.Profile})
	return err
}

// removeOne takes an assignment off the app and says so on the binding.
// Okta keeps a user's direct assignment while a group still grants the
// user the app (E0000046): that is reported once, with the group's name,
// and tried again only when the app's groups change or an interval passed.
func (p *bindingPass) removeOne(ctx context.Context, org *Org, app *ssov1.OktaSAMLApp, rm assign.Removal, assigned map[assign.Ref]bool) (bool, error) {
	appID := app.Status.AppID
	binding := p.binding(rm.By)
	if rm.Ref.Kind == assign.Group {
		if err := org.Client.UnassignGroup(ctx, appID, rm.Ref.ID); err != nil {
			return false, err
		}
		p.removed(binding, rm)
		return true, nil
	}
	fingerprint := groupsFingerprint(assigned) // groups removed earlier in this pass count
	if group, held := p.r.refused.held(appID, rm.Ref.ID, fingerprint, p.r.Now(), intervalOrDefault(binding)); held {
		p.noteHeld(rm, group)
		return false, nil
	}
	err := org.Client.UnassignUser(ctx, appID, rm.Ref.ID)
	if okta.IsGrantedByGroup(err) {
		group := p.grantingGroup(ctx, org.Client, rm.Ref.ID, assigned)
		if first := p.r.refused.remember(appID, rm.Ref.ID, group, fingerprint, p.r.Now()); first && binding != nil {
			p.r.Recorder.Event(binding, corev1.EventTypeWarning, "RemovalHeldByGroup",
				fmt.Sprintf("Okta keeps the direct assignment of user %s while group %s grants the app; it is removed once no group does", rm.Ref.ID, group))
		}
		p.noteHeld(rm, group)
		return false, nil
	}
	if err != nil {
		return false, err
	}
	p.r.refused.forget(appID, rm.Ref.ID)
	p.removed(binding, rm)
	return true, nil
}

func (p *bindingPass) noteHeld(rm assign.Removal, group string) {
	p.notes[rm.By] = append(p.notes[rm.By], fmt.Sprintf("user %s keeps a direct assignment while group %s grants the app", rm.Ref.ID, group))
}

// grantingGroup names an app group the user is a member of, for the
// message; an extra read only when Okta refused a removal.
func (p *bindingPass) grantingGroup(ctx context.Context, c okta.API, userID string, assigned map[assign.Ref]bool) string {
	groups, err := c.ListUserGroups(ctx, userID)
	if err != nil {
		return "(unknown: " + err.Error() + ")"
	}
	for _, g := range groups {
		if assigned[assign.Ref{Kind: assign.Group, ID: g.ID}] {
			return g.Profile.Name
		}
	}
	return "(one of the app's groups)"
}

func (p *bindingPass) removed(binding *ssov1.SSOBinding, rm assign.Removal) {
	if binding == nil {
		return
	}
	why := "no SSOBinding grants it any more"
	if rm.HandMade {
		why = "it was not made by an SSOBinding and this Authoritative binding does not list it"
	}
	p.r.Recorder.Event(binding, corev1.EventTypeNormal, "Unassigned", fmt.Sprintf("Removed %s from the app: %s", rm.Ref, why))
}

// goneInOkta: a group or user deleted in Okta after it was resolved (the
// cached ID is stale). Each binding that lists it reports it, and the name
// is looked up again on the next pass.
func (p *bindingPass) goneInOkta(org *Org, w assign.Want) {
	for key, subjects := range p.resolved {
		for _, s := range subjects {
			if refOf(s) == w.Ref {
				subject := ssov1.Subject{Kind: s.Kind, Name: s.Name}
				p.missing[key] = append(p.missing[key], unresolved{subject: subject, why: "deleted in Okta"})
				p.r.subjects.forget(org, subject)
			}
		}
	}
}

func (p *bindingPass) setErr(key string, err error) {
	if p.errs[key] == nil {
		p.errs[key] = err
	}
}

func (p *bindingPass) binding(key string) *ssov1.SSOBinding {
	for _, b := range p.bindings {
		if bindingKey(b) == key {
			return b
		}
	}
	return nil
}

// isBindingError: Okta refused this one call (400), so the pass goes on
// with the others.
func isBindingError(err error) bool {
	_, invalid := okta.IsInvalid(err)
	return invalid
}

func intervalOrDefault(b *ssov1.SSOBinding) time.Duration {
	if b == nil {
		return 10 * time.Minute
	}
	return b.ReconcileInterval()
}

func refList(set map[assign.Ref]bool) []assign.Ref {
	out := make([]assign.Ref, 0, len(set))
	for r := range set {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// groupsFingerprint names the app's set of group assignments, to tell when
// a held removal may succeed now.
func groupsFingerprint(assigned map[assign.Ref]bool) string {
	var ids []string
	for r, ok := range assigned {
		if ok && r.Kind == assign.Group {
			ids = append(ids, r.ID)
		}
	}
	sort.Strings(ids)
	return strings.Join(ids, ",")
}

// refusedRemovals remembers the direct assignments Okta kept because a
// group grants the app, so they are not tried again every pass.
type refusedRemovals struct {
	mu     sync.Mutex
	byUser map[string]refusal // appID/userID
}

type refusal struct {
	group, fingerprint string
	at                 time.Time
}

func (r *refusedRemovals) held(appID, userID, fingerprint string, now time.Time, interval time.Duration) (string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f, ok := r.byUser[appID+"/"+userID]
	return f.group, ok && f.fingerprint == fingerprint && now.Before(f.at.Add(interval))
}

// remember records a refusal and tells whether it is the first for this
// user, so the event is emitted once.
func (r *refusedRemovals) remember(appID, userID, group, fingerprint string, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.byUser == nil {
		r.byUser = map[string]refusal{}
	}
	_, known := r.byUser[appID+"/"+userID]
	r.byUser[appID+"/"+userID] = refusal{group: group, fingerprint: fingerprint, at: now}
	return !known
}

func (r *refusedRemovals) forget(appID, userID string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.byUser, appID+"/"+userID)
}
