package okta

import (
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

// reserve takes one request from the bucket, or says when to retry. Until
// Okta has told the bucket's limit, requests go through.
func (b *Budget) reserve(bucket string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	st := b.state(bucket)
	now := b.now()
	if now.Before(st.blockedUntil) {
		return &RateLimitedError{Bucket: bucket, RetryAt: st.blockedUntil, Local: true}
	}
	if !st.known {
		return nil
	}
	if !now.Before(st.reset) {
		// A new window: Okta refills the bucket at reset.
		st.remaining, st.reset = st.limit, now.Add(time.Minute)
	}
	// Keep (100 - capacityPercent)% of the bucket for the org's other
	// clients; the operator's share rounds up, so it is at least one.
	share := (st.limit*b.capacityPercent + 99) / 100
	reserved := st.limit - share
	if st.remaining <= reserved {
		return &RateLimitedError{Bucket: bucket, RetryAt: st.reset, Local: true}
	}
	st.remaining--
	return nil
}

// Refuses tells, without spending anything, whether a request to the
// bucket would be refused now, and until when.
func (b *Budget) Refuses(bucket string) (time.Time, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	st := b.state(bucket)
	if b.now().Before(st.blockedUntil) {
		return st.blockedUntil, true
	}
	if !st.known || !b.now().Before(st.reset) {
		return time.Time{}, false
	}
	share := (st.limit*b.capacityPercent + 99) / 100
	return st.reset, st.remaining <= st.limit-share
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
