package controller

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
	"github.com/oktaop/okta-sso-operator/internal/drift"
	"github.com/oktaop/okta-sso-operator/internal/okta"
)

// The follower's drift detection: the org's log names the apps, groups and
// identity providers someone changed in Okta, and only their objects are
// woken, at once. The operator's own changes carry request IDs its client
// kept, and wake nothing.

// driftState is the follower's place in each org's log for drift, and when
// each org's log was last read.
type driftState struct {
	cursors  map[string]okta.LogCursor // by org URL
	lastRead map[string]time.Time      // by org URL: the last poll that worked, or when the org was first followed
	gap      map[string]bool
}

// keptInOrg are the objects of one org the operator keeps in Okta, by the
// Okta ID the log names them with.
type keptInOrg struct {
	apps map[string][]types.NamespacedName // app ID → OktaSAMLApps
	idps map[string][]types.NamespacedName // IdP ID → OktaSAMLIdentityProviders
}

// driftLookBack is how far before the first poll of an org its drift
// cursor starts: the objects' first reconciles after a start read Okta, so
// only a change made just before one of them could be missed otherwise.
const driftLookBack = time.Minute

// keptObjects lists the apps and IdPs in Okta by org, adding their orgs to
// orgs (the orgs to poll), when the follower does drift detection.
func (f *LogFollower) keptObjects(ctx context.Context, orgs map[string]*Org) (map[string]*keptInOrg, error) {
	kept := map[string]*keptInOrg{}
	if f.Drift == nil {
		return kept, nil
	}
	add := func(namespace string, ref ssov1.OrgReference, id string, key types.NamespacedName, isApp bool) {
		org, err := f.orgOf(ctx, namespace, ref)
		if err != nil || org.LogPoll == 0 {
			return
		}
		if known, ok := orgs[org.URL]; !ok || shorterPoll(org.LogPoll, known.LogPoll) {
			orgs[org.URL] = org
		}
		k := kept[org.URL]
		if k == nil {
			k = &keptInOrg{apps: map[string][]types.NamespacedName{}, idps: map[string][]types.NamespacedName{}}
			kept[org.URL] = k
		}
		if isApp {
			k.apps[id] = append(k.apps[id], key)
		} else {
			k.idps[id] = append(k.idps[id], key)
		}
	}
	// Read-only, every second: the cache's objects themselves, not copies.
	var apps ssov1.OktaSAMLAppList
	if err := f.Reader.List(ctx, &apps, client.UnsafeDisableDeepCopy); err != nil {
		return nil, err
	}
	for i := range apps.Items {
		a := &apps.Items[i]
		if a.Status.AppID != "" && a.DeletionTimestamp.IsZero() && !a.Spec.Suspend {
			add(a.Namespace, a.Spec.OrgRef, a.Status.AppID, client.ObjectKeyFromObject(a), true)
		}
	}
	var idps ssov1.OktaSAMLIdentityProviderList
	if err := f.Reader.List(ctx, &idps, client.UnsafeDisableDeepCopy); err != nil {
		return nil, err
	}
	for i := range idps.Items {
		p := &idps.Items[i]
		if p.Status.IdPID != "" && p.DeletionTimestamp.IsZero() && !p.Spec.Suspend {
			add(p.Namespace, p.Spec.OrgRef, p.Status.IdPID, client.ObjectKeyFromObject(p), false)
		}
	}
	return kept, nil
}

// driftCursor is where drift reading of the org goes on from, and whether
// the org has objects to watch.
func (f *LogFollower) driftCursor(url string, kept *keptInOrg) (okta.LogCursor, bool) {
	if kept == nil {
		return okta.LogCursor{}, false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.drift.cursors == nil {
		f.drift.cursors, f.drift.lastRead, f.drift.gap = map[string]okta.LogCursor{}, map[string]time.Time{}, map[string]bool{}
	}
	c, ok := f.drift.cursors[url]
	if !ok {
		start := f.now
		if f.EventClock != nil {
			start = f.EventClock
		}
		c = okta.LogCursor{Published: start().Add(-driftLookBack)}
		f.drift.cursors[url], f.drift.lastRead[url] = c, f.now()
	}
	return c, true
}

func (f *LogFollower) setDriftCursor(url string, c okta.LogCursor) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.drift.cursors[url] = c
}

// wakeTouched wakes the objects of the apps, IdPs and groups the events
// named: an app and its bindings' pass; an identity provider; for a group
// renamed or deleted, the pass over the bindings that resolved it.
func (f *LogFollower) wakeTouched(ctx context.Context, kept *keptInOrg, t drift.Touched) {
	if t.Empty() {
		return
	}
	for id := range t.Apps {
		for _, key := range kept.apps[id] {
			f.Drift.wakeApp(key)
		}
	}
	for id := range t.IdPs {
		for _, key := range kept.idps[id] {
			f.Drift.idps.wake(key)
		}
	}
	if len(t.Groups) == 0 {
		return
	}
	var bindings ssov1.SSOBindingList
	if err := f.Reader.List(ctx, &bindings); err != nil {
		logr.FromContextOrDiscard(ctx).Error(err, "listing SSOBindings for a group changed in Okta")
		return
	}
	for _, b := range bindings.Items {
		if slices.ContainsFunc(b.Status.Resolved, func(s ssov1.ResolvedSubject) bool { return s.Kind == ssov1.SubjectKindGroup && t.Groups[s.ID] }) {
			f.Drift.bindings.wake(types.NamespacedName{Namespace: b.Namespace, Name: string(b.Spec.AppRef.Name)})
		}
	}
}

// checkGap notes a poll of a followed org. When polls have failed for
// longer than a few periods the log has a gap: the org's objects go back
// to being read every interval, and each is read now (a sweep of the
// org), since a change may have gone unseen. A poll that works ends the
// gap; the cursor was kept, so nothing published meanwhile is lost.
func (f *LogFollower) checkGap(ctx context.Context, url string, org *Org, kept *keptInOrg, now time.Time, err error) {
	if kept == nil {
		return
	}
	f.mu.Lock()
	if err == nil {
		f.drift.lastRead[url] = now
		wasGap := f.drift.gap[url]
		delete(f.drift.gap, url)
		f.mu.Unlock()
		if wasGap {
			f.Drift.setGap(url, false)
		}
		return
	}
	startsGap := !f.drift.gap[url] && now.Sub(f.drift.lastRead[url]) > cmp.Or(f.GapAfter, gapAfter(org.LogPoll))
	if startsGap {
		f.drift.gap[url] = true
	}
	f.mu.Unlock()
	if !startsGap {
		return
	}
	f.Drift.setGap(url, true)
	f.wakeTouched(ctx, kept, kept.all())
}

// all names every kept app and IdP, as if the log had touched them all.
func (k *keptInOrg) all() drift.Touched {
	t := drift.Touched{Apps: map[string]bool{}, IdPs: map[string]bool{}}
	for id := range k.apps {
		t.Apps[id] = true
	}
	for id := range k.idps {
		t.IdPs[id] = true
	}
	return t
}

// gapAfter is how long an org's log may go unread before the operator
// stops relying on it: three poll periods, and at least five minutes, so a
// short outage or a rate-limit wait does not set off a sweep.
func gapAfter(poll time.Duration) time.Duration { return max(3*poll, 5*time.Minute) }
