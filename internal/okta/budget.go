package okta

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Budget is one org's rate-limit budget, shared by every client and
// controller that talks to the org. It learns each bucket's limit, remaining
// count and reset time from Okta's X-Rate-Limit-* headers and lets the
// operator use at most capacityPercent of each bucket, so the org's other
// clients are never starved. A request the budget knows would be refused is
// not sent.
//
// Within the operator's share, each window of a bucket is shared between
// the namespaces using it (their Share, from the request's context) by
// weight: a namespace may always use its quota of the window, and beyond
// it only what the other namespaces active in this window or the last
// have not yet used of theirs. So a namespace with a thousand requests
// waiting takes the whole window when it is alone, and cannot keep
// another namespace's one request out of more than the window it arrived
// in (weighted fair sharing, as Kubernetes' API Priority and Fairness
// shares a server between flows).
type Budget struct {
	mu              sync.Mutex
	now             func() time.Time
	capacityPercent int
	buckets         map[string]*bucketState
}

type bucketState struct {
	known     bool // a response has told the limit
	limit     int
	remaining int // as Okta last said, less what is in flight since
	reset     time.Time
	// blockedUntil is the reset of the last 429: until then nothing is
	// sent, whatever the answers to requests sent before it say.
	blockedUntil time.Time
	// window counts the bucket's windows, so that a namespace's use is
	// counted per window and its share held only while it is active.
	window int
	shares map[string]*shareUse
}

// shareUse is one namespace's use of a bucket.
type shareUse struct {
	weight int
	// used requests in window usedIn; lastSeen is the last window it asked in.
	used, usedIn, lastSeen int
}

// Share is whom a request is for: a namespace and its weight (1 or more)
// in the org's tenant policy. Requests with no namespace (the org's own
// checks, the System Log follower) share as the namespace "".
type Share struct {
	Namespace string
	Weight    int
}

type shareKey struct{}

// WithShare marks the requests made with ctx as the namespace's.
func WithShare(ctx context.Context, namespace string, weight int) context.Context {
	return context.WithValue(ctx, shareKey{}, Share{Namespace: namespace, Weight: max(weight, 1)})
}

// ShareOf is whom ctx's requests are for.
func ShareOf(ctx context.Context) Share {
	if s, ok := ctx.Value(shareKey{}).(Share); ok {
		return s
	}
	return Share{Weight: 1}
}

// DefaultCapacityPercent is the share of each bucket the operator uses when
// the org Secret does not set maxAPICapacityPercent.
const DefaultCapacityPercent = 50

// NewBudget makes a budget using capacityPercent (1 to 100) of each bucket.
func NewBudget(capacityPercent int, now func() time.Time) *Budget {
	if now == nil {
		now = time.Now
	}
	b := &Budget{now: now, buckets: map[string]*bucketState{}}
	b.SetCapacityPercent(capacityPercent)
	return b
}

// SetCapacityPercent changes the share used; out-of-range values use the default.
func (b *Budget) SetCapacityPercent(p int) {
	if p < 1 || p > 100 {
		p = DefaultCapacityPercent
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.capacityPercent = p
}

// reserve takes one request from the bucket for the share, or says when
// to retry. Until Okta has told the bucket's limit, requests go through.
func (b *Budget) reserve(bucket string, s Share) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	st := b.state(bucket)
	now := b.now()
	if now.Before(st.blockedUntil) {
		return &RateLimitedError{Bucket: bucket, RetryAt: st.blockedUntil, Local: true}
	}
	if !st.known {
		st.use(s)
		return nil
	}
	if !now.Before(st.reset) {
		// A new window: Okta refills the bucket at reset.
		st.turn(now)
		st.remaining, st.reset = st.limit, now.Add(time.Minute)
	}
	use := st.use(s)
	if !b.admits(st, use) {
		return &RateLimitedError{Bucket: bucket, RetryAt: st.reset, Local: true}
	}
	st.remaining--
	use.spend(st.window)
	return nil
}

// capacity is the operator's part of a window: (100 - capacityPercent)% of
// the bucket is kept for the org's other clients; the operator's part
// rounds up, so it is at least one.
func (b *Budget) capacity(st *bucketState) int {
	return (st.limit*b.capacityPercent + 99) / 100
}

// admits tells whether one more request of use fits the window: within
// the operator's part of what Okta has left, and within use's quota or
// what the other active namespaces' quotas leave free.
func (b *Budget) admits(st *bucketState, use *shareUse) bool {
	capacity := b.capacity(st)
	left := st.remaining - (st.limit - capacity)
	if left <= 0 {
		return false
	}
	total := 0
	for _, u := range st.shares {
		if st.active(u) {
			total += u.weight
		}
	}
	quota := func(u *shareUse) int { return (capacity*u.weight + total - 1) / total }
	if use.usedNow(st.window) < quota(use) {
		return true
	}
	owed := 0
	for _, u := range st.shares {
		if u != use && st.active(u) {
			owed += max(0, quota(u)-u.usedNow(st.window))
		}
	}
	return left > owed
}

// turn counts a new window. One that starts a whole minute (Okta's window)
// after the last one ended had a window with no request before it: nobody
// asked in the last window, so no quota is held from before.
func (st *bucketState) turn(now time.Time) {
	st.window++
	if !st.reset.IsZero() && !now.Before(st.reset.Add(time.Minute)) {
		st.window++
	}
	for ns, u := range st.shares { // records of namespaces gone quiet for two windows
		if u.lastSeen < st.window-2 {
			delete(st.shares, ns)
		}
	}
}

// use is the share's record in the bucket, marked active in this window.
func (st *bucketState) use(s Share) *shareUse {
	if st.shares == nil {
		st.shares = map[string]*shareUse{}
	}
	u := st.shares[s.Namespace]
	if u == nil {
		u = &shareUse{usedIn: -1}
		st.shares[s.Namespace] = u
	}
	u.weight, u.lastSeen = max(s.Weight, 1), st.window
	return u
}

// active: the namespace asked in this window or the last, so its quota is
// held for it.
func (st *bucketState) active(u *shareUse) bool { return u.lastSeen >= st.window-1 }

func (u *shareUse) usedNow(window int) int {
	if u.usedIn != window {
		return 0
	}
	return u.used
}

func (u *shareUse) spend(window int) {
	if u.usedIn != window {
		u.used, u.usedIn = 0, window
	}
	u.used++
}

// Refuses tells, without spending anything, whether a request of the
// share to the bucket would be refused now, and until when.
func (b *Budget) Refuses(bucket string, s Share) (time.Time, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	st := b.state(bucket)
	if b.now().Before(st.blockedUntil) {
		return st.blockedUntil, true
	}
	if !st.known || !b.now().Before(st.reset) {
		return time.Time{}, false
	}
	use := st.use(s)
	return st.reset, !b.admits(st, use)
}

// observe learns from a response's headers and returns the bucket's reset.
// Within a window Okta's count and the local one (which also counts requests
// still in flight) may differ, so the lower wins; a newer window than the one
// known replaces the count. A 429 empties the bucket until its reset.
func (b *Budget) observe(bucket string, status int, h http.Header) time.Time {
	limit, errL := strconv.Atoi(h.Get("X-Rate-Limit-Limit"))
	remaining, errR := strconv.Atoi(h.Get("X-Rate-Limit-Remaining"))
	resetUnix, errT := strconv.ParseInt(h.Get("X-Rate-Limit-Reset"), 10, 64)
	b.mu.Lock()
	defer b.mu.Unlock()
	st := b.state(bucket)
	if errL == nil && errR == nil && errT == nil && limit > 0 {
		reset := time.Unix(resetUnix, 0)
		if !st.known || reset.After(st.reset) {
			if !st.known || !b.now().Before(st.reset) { // a window reserve has not seen turn
				st.turn(b.now())
			}
			st.remaining = remaining
		} else {
			st.remaining = min(st.remaining, remaining)
		}
		st.known, st.limit, st.reset = true, limit, reset
	}
	if status == http.StatusTooManyRequests {
		// Blocked until reset even if Okta sent no limit; then one probe goes.
		st.known, st.limit, st.remaining = true, max(st.limit, 1), 0
		if errT == nil {
			st.reset = time.Unix(resetUnix, 0)
		}
		if !st.reset.After(b.now()) {
			st.reset = b.now().Add(time.Minute)
		}
		st.blockedUntil = later(st.blockedUntil, st.reset)
	}
	return later(st.reset, st.blockedUntil)
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func (b *Budget) state(bucket string) *bucketState {
	st := b.buckets[bucket]
	if st == nil {
		st = &bucketState{}
		b.buckets[bucket] = st
	}
	return st
}

// Remaining returns what Okta last said remains in a bucket, and whether it
// has said anything yet.
func (b *Budget) Remaining(bucket string) (int, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	st := b.state(bucket)
	return st.remaining, st.known
}

// budgets holds one Budget per org URL, so every client of an org shares it.
var budgets sync.Map

// BudgetFor returns the org's shared budget, setting its capacity share.
func BudgetFor(orgURL string, capacityPercent int, now func() time.Time) *Budget {
	b, _ := budgets.LoadOrStore(orgURL, NewBudget(capacityPercent, now))
	budget := b.(*Budget)
	budget.SetCapacityPercent(capacityPercent)
	return budget
}

// BucketHeadroom is what Okta last said of one bucket.
type BucketHeadroom struct {
	Bucket           string
	Limit, Remaining int
	Reset            time.Time
}

// Headroom lists the buckets Okta has told the limits of, by name.
func (b *Budget) Headroom() []BucketHeadroom {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]BucketHeadroom, 0, len(b.buckets))
	for name, st := range b.buckets {
		if st.known {
			out = append(out, BucketHeadroom{Bucket: name, Limit: st.limit, Remaining: st.remaining, Reset: st.reset})
		}
	}
	slices.SortFunc(out, func(x, y BucketHeadroom) int { return strings.Compare(x.Bucket, y.Bucket) })
	return out
}
