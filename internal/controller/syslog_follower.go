package controller

import (
	"context"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
	"github.com/oktaop/okta-sso-operator/internal/accountsync"
	"github.com/oktaop/okta-sso-operator/internal/drift"
	"github.com/oktaop/okta-sso-operator/internal/okta"
	oktaorg "github.com/oktaop/okta-sso-operator/internal/org"
)

// LogFollower reads each Okta org's System Log, once a poll period per org
// whatever the number of its objects. It hands each AccountSync the users
// the new events concern (followQueue), for an incremental pass, and, with
// Drift set, wakes the apps, bindings and identity providers someone else
// changed in Okta (syslog_drift.go). It runs on the leader only.
type LogFollower struct {
	Reader client.Reader
	Orgs   Orgs
	Now    func() time.Time
	Queue  *FollowQueue
	Drift  *DriftWatch
	// EventClock is the clock of the orgs' events, where drift reading of
	// a newly followed org starts (Now when unset; a test's org may run on
	// a clock of its own).
	EventClock func() time.Time
	// GapAfter is how long an org's log may go unread before its objects
	// fall back to being read every interval (gapAfter when 0).
	GapAfter time.Duration

	mu sync.Mutex
	// lastPoll is when each org was last polled, and notBefore until when
	// it must not be (a rate limit's reset): an org is due a period after
	// its last poll, so a shorter period (a new org object asking for one)
	// takes effect at once.
	lastPoll, notBefore map[string]time.Time                        // by org URL
	states              map[string]FollowState                      // by org URL
	routed              map[types.NamespacedName]accountsync.Cursor // how far each sync was handed events
	orgs                map[string]resolvedOrg                      // by namespace/org Secret
	drift               driftState
}

// resolvedOrg is an org Secret read, kept for orgRecheck: the follower looks
// for new syncs every second, and Secrets are not cached.
type resolvedOrg struct {
	org *Org
	at  time.Time
}

// orgRecheck is how long an org Secret's reading is kept.
const orgRecheck = time.Minute

// maxLogPages bounds one org's poll, in pages of logPageSize (Okta's
// most); the next poll goes on from there.
const (
	maxLogPages = 10
	logPageSize = 1000
)

// cursorOnlyAfter is how old a sync's recorded cursor may grow while the
// org's events concern none of its users before the follower hands it the
// cursor alone, so a restart does not read far back.
const cursorOnlyAfter = 10 * time.Minute

// NeedLeaderElection: only the leader follows.
func (f *LogFollower) NeedLeaderElection() bool { return true }

// Start checks every second which orgs are due (and finds new syncs)
// until the context ends.
func (f *LogFollower) Start(ctx context.Context) error {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			f.pollDue(ctx)
		}
	}
}

// subscriber is one AccountSync following its app's org.
type subscriber struct {
	key   types.NamespacedName
	appID string
	// recorded is where its status says it is; cursor where this process
	// has handed it events up to (the later of the two).
	recorded, cursor accountsync.Cursor
}

// pollDue polls the orgs whose period has passed.
func (f *LogFollower) pollDue(ctx context.Context) {
	log := logr.FromContextOrDiscard(ctx).WithName("systemlog")
	orgs, subs, err := f.subscribers(ctx)
	if err != nil {
		log.Error(err, "listing AccountSyncs")
		return
	}
	kept, err := f.keptObjects(ctx, orgs)
	if err != nil {
		log.Error(err, "listing the objects kept in Okta")
		return
	}
	now := f.now()
	for url, org := range orgs {
		if org.LogPoll == 0 {
			continue
		}
		f.mu.Lock()
		due := !now.Before(f.lastPoll[url].Add(org.LogPoll)) && !now.Before(f.notBefore[url])
		f.mu.Unlock()
		if !due {
			continue
		}
		if until, throttled := org.Client.Throttled(ctx, okta.BucketLogs); throttled {
			f.setNotBefore(url, until)
			continue
		}
		newest, err := f.poll(ctx, org, subs[url], kept[url])
		f.recordState(url, now, newest, err)
		f.checkGap(ctx, url, org, kept[url], now, err)
		if err != nil {
			if retryAt, limited := okta.IsRateLimited(err); limited {
				f.setNotBefore(url, retryAt)
			}
			log.Info("reading the System Log failed; the next poll tries again", "org", url, "error", err.Error())
		}
	}
}

// FollowState is where the follower stands for one org, for the org's
// status.
type FollowState struct {
	// LastPoll is when the org's System Log was last read.
	LastPoll time.Time
	// Newest is the publication time of the newest event read so far.
	Newest time.Time
	// Error is why the last poll failed ("" when it did not).
	Error string
}

// State is where the follower stands for the org at the canonical URL, and
// whether it follows that org at all.
func (f *LogFollower) State(url string) (FollowState, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st, ok := f.states[url]
	return st, ok
}

func (f *LogFollower) recordState(url string, at, newest time.Time, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.states == nil {
		f.states = map[string]FollowState{}
	}
	if f.lastPoll == nil {
		f.lastPoll = map[string]time.Time{}
	}
	f.lastPoll[url] = at
	st := f.states[url]
	st.LastPoll, st.Error = at, ""
	if newest.After(st.Newest) {
		st.Newest = newest
	}
	if err != nil {
		st.Error = err.Error()
	}
	f.states[url] = st
}

func (f *LogFollower) setNotBefore(url string, at time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.notBefore == nil {
		f.notBefore = map[string]time.Time{}
	}
	f.notBefore[url] = at
}

// shorterPoll tells whether poll period a is shorter than b, 0 (off) being
// the longest.
func shorterPoll(a, b time.Duration) bool { return a != 0 && (b == 0 || a < b) }

// subscribers are the syncs that follow, by org URL: those with an app in
// Okta and a first successful run (their orgs may poll or not: an event
// hook feeds them either way).
func (f *LogFollower) subscribers(ctx context.Context) (map[string]*Org, map[string][]subscriber, error) {
	var syncs ssov1.AccountSyncList
	if err := f.Reader.List(ctx, &syncs); err != nil {
		return nil, nil, err
	}
	orgs, subs := map[string]*Org{}, map[string][]subscriber{}
	for i := range syncs.Items {
		s := &syncs.Items[i]
		cursor, ok := followCursor(s)
		if !ok || s.Spec.Suspend || !s.DeletionTimestamp.IsZero() {
			continue
		}
		app := &ssov1.OktaSAMLApp{}
		if err := f.Reader.Get(ctx, client.ObjectKey{Namespace: s.Namespace, Name: string(s.Spec.AppRef.Name)}, app); err != nil || app.Status.AppID == "" {
			continue
		}
		org, err := f.orgOf(ctx, s.Namespace, app.Spec.OrgRef)
		if err != nil {
			continue
		}
		if known, ok := orgs[org.URL]; !ok || shorterPoll(org.LogPoll, known.LogPoll) {
			orgs[org.URL] = org // an org several Secrets reach is polled at the shortest period
		}
		subs[org.URL] = append(subs[org.URL], subscriber{key: client.ObjectKeyFromObject(s), appID: app.Status.AppID, recorded: cursor})
	}
	return orgs, subs, nil
}

func (f *LogFollower) now() time.Time {
	if f.Now == nil {
		return time.Now()
	}
	return f.Now()
}

// orgOf reads an org Secret, or gives its reading of the last minute.
func (f *LogFollower) orgOf(ctx context.Context, namespace string, ref ssov1.OrgReference) (*Org, error) {
	key := oktaorg.Key(namespace, ref)
	f.mu.Lock()
	r, ok := f.orgs[key]
	f.mu.Unlock()
	if ok && f.now().Sub(r.at) < orgRecheck {
		return r.org, nil
	}
	org, err := f.Orgs.Get(ctx, namespace, ref)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.orgs == nil {
		f.orgs = map[string]resolvedOrg{}
	}
	f.orgs[key] = resolvedOrg{org: org, at: f.now()}
	return org, nil
}

// followCursor is where a sync's status says it is in the log: its
// follow cursor, or, before any pass, the start of its last successful run.
func followCursor(s *ssov1.AccountSync) (accountsync.Cursor, bool) {
	if fs := s.Status.Following; fs != nil && fs.Cursor.Published != "" {
		t, err := time.Parse(time.RFC3339Nano, fs.Cursor.Published)
		if err == nil {
			ids := map[string]bool{}
			for _, id := range fs.Cursor.EventIDs {
				ids[id] = true
			}
			return accountsync.Cursor{Published: t, IDs: ids}, true
		}
	}
	if s.Status.LastSuccessfulSyncTime == nil {
		return accountsync.Cursor{}, false
	}
	return accountsync.Cursor{Published: s.Status.LastSuccessfulSyncTime.Time}, true
}

// poll reads the org's new events from the earliest cursor of its syncs and
// its drift cursor, hands each sync what concerns it and wakes the objects
// someone else changed.
func (f *LogFollower) poll(ctx context.Context, org *Org, subs []subscriber, kept *keptInOrg) (newest time.Time, err error) {
	var since time.Time
	var filters []string
	for i := range subs {
		subs[i].cursor = f.handedTo(subs[i].key, subs[i].recorded)
		if i == 0 || subs[i].cursor.Published.Before(since) {
			since = subs[i].cursor.Published
		}
	}
	if len(subs) > 0 {
		filters = append(filters, accountsync.FollowFilter())
	}
	driftFrom, followsDrift := f.driftCursor(org.URL, kept)
	if followsDrift {
		if len(subs) == 0 || driftFrom.Published.Before(since) {
			since = driftFrom.Published
		}
		filters = append(filters, drift.Filter())
	}
	var events []okta.LogEvent
	q := okta.LogQuery{Since: since, Filter: strings.Join(filters, " or "), Limit: logPageSize}
	for range maxLogPages {
		page, err := org.Client.LogEvents(ctx, q)
		if err != nil {
			return newest, err
		}
		events = append(events, page.Events...)
		// A page short of the limit is the end for now: a polling query's
		// next link is always there, and would answer nothing new yet.
		if len(page.Events) < logPageSize || page.Next == "" {
			break
		}
		q = okta.LogQuery{Cursor: page.Next}
	}
	sort.SliceStable(events, func(i, j int) bool { return events[i].Published.Before(events[j].Published) })
	if len(events) > 0 {
		newest = events[len(events)-1].Published
	}
	if followsDrift {
		touched, cursor := drift.Read(events, driftFrom, org.Client.MadeChange)
		f.setDriftCursor(org.URL, cursor)
		f.wakeTouched(ctx, kept, touched)
	}
	for _, s := range subs {
		followed := accountsync.Follow(events, s.appID, s.cursor)
		if len(followed.Users) == 0 && !f.cursorStale(s, followed.Cursor) {
			f.remember(s.key, followed.Cursor)
			continue
		}
		f.Queue.add(s.key, followed)
		f.remember(s.key, followed.Cursor)
	}
	return newest, nil
}

// handedTo is the later of where the sync's status is and what this
// process has handed it since.
func (f *LogFollower) handedTo(key types.NamespacedName, recorded accountsync.Cursor) accountsync.Cursor {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c, ok := f.routed[key]; ok && laterCursor(c, recorded) {
		return c
	}
	return recorded
}

func (f *LogFollower) remember(key types.NamespacedName, c accountsync.Cursor) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.routed == nil {
		f.routed = map[types.NamespacedName]accountsync.Cursor{}
	}
	f.routed[key] = c
}

// cursorStale: the sync's recorded cursor lags what was read by more than
// cursorOnlyAfter, so it is handed the cursor alone.
func (f *LogFollower) cursorStale(s subscriber, read accountsync.Cursor) bool {
	return read.Published.Sub(s.recorded.Published) > cursorOnlyAfter
}

// laterCursor tells whether a is past b.
func laterCursor(a, b accountsync.Cursor) bool {
	return a.Published.After(b.Published) || (a.Published.Equal(b.Published) && len(a.IDs) > len(b.IDs))
}

// FollowQueue holds, per AccountSync, the users System Log events asked to
// plan again and the cursor after those events, until the sync's
// controller takes them; it wakes the controller through a channel source.
type FollowQueue struct {
	waker
	mu   sync.Mutex
	work map[types.NamespacedName]accountsync.Followed
}

// NewFollowQueue makes an empty queue.
func NewFollowQueue() *FollowQueue {
	return &FollowQueue{work: map[types.NamespacedName]accountsync.Followed{},
		waker: newWaker(func() client.Object { return &ssov1.AccountSync{} })}
}

// add merges followed into the sync's work and wakes its controller.
func (q *FollowQueue) add(key types.NamespacedName, followed accountsync.Followed) {
	q.mu.Lock()
	q.work[key] = mergeFollowed(q.work[key], followed)
	q.mu.Unlock()
	q.wake(key)
}

// take removes and returns the sync's work.
func (q *FollowQueue) take(key types.NamespacedName) (accountsync.Followed, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	w, ok := q.work[key]
	delete(q.work, key)
	return w, ok
}

// putBack returns work a pass could not finish, merged with any that came
// meanwhile.
func (q *FollowQueue) putBack(key types.NamespacedName, w accountsync.Followed) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.work[key] = mergeFollowed(w, q.work[key])
}

func (q *FollowQueue) forget(key types.NamespacedName) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.work, key)
}

// mergeFollowed joins two handovers: every user of both (left if either
// says so), the later cursor and last event.
func mergeFollowed(a, b accountsync.Followed) accountsync.Followed {
	out := accountsync.Followed{Users: map[string]bool{}, Cursor: a.Cursor, LastEvent: a.LastEvent}
	for _, f := range []accountsync.Followed{a, b} {
		for id, left := range f.Users {
			out.Users[id] = out.Users[id] || left
		}
	}
	if laterCursor(b.Cursor, a.Cursor) {
		out.Cursor = b.Cursor
	}
	if b.LastEvent.After(out.LastEvent) {
		out.LastEvent = b.LastEvent
	}
	return out
}
