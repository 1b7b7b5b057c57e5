package okta

import (
	"net/http"
	"strconv"
	"testing"
	"time"
)

// window is one rate-limit window of 20 requests as Okta announces it.
func announceWindow(b *Budget, bucket string, now time.Time) {
	h := http.Header{}
	h.Set("X-Rate-Limit-Limit", "20")
	h.Set("X-Rate-Limit-Remaining", "20")
	h.Set("X-Rate-Limit-Reset", strconv.FormatInt(now.Add(10*time.Second).Unix(), 10))
	b.observe(bucket, http.StatusOK, h)
}

// TestBudgetSharesWindowsByWeight: each step asks a number of requests per
// namespace in order, in a new window; the want is how many each got.
func TestBudgetSharesWindowsByWeight(t *testing.T) {
	type ask struct {
		ns     string
		weight int
		n      int
	}
	cases := map[string]struct {
		windows [][]ask
		want    []map[string]int // per window
	}{
		"a namespace alone takes the whole window": {
			windows: [][]ask{{{"a", 1, 30}}},
			want:    []map[string]int{{"a": 20}},
		},
		"one that arrives late waits one window, then gets its half whatever the other asks first": {
			windows: [][]ask{{{"a", 1, 30}, {"b", 1, 1}}, {{"a", 1, 30}, {"b", 1, 5}}},
			want:    []map[string]int{{"a": 20, "b": 0}, {"a": 10, "b": 5}},
		},
		"a namespace's quota is held the window after it asked, then freed": {
			windows: [][]ask{{{"b", 1, 1}, {"a", 1, 30}}, {{"a", 1, 30}}, {{"a", 1, 30}}},
			want:    []map[string]int{{"a": 10, "b": 1}, {"a": 10}, {"a": 20}},
		},
		"by weight": {
			windows: [][]ask{{{"a", 3, 1}, {"b", 1, 1}}, {{"a", 3, 30}, {"b", 1, 30}}},
			want:    []map[string]int{{"a": 1, "b": 1}, {"a": 15, "b": 5}},
		},
		"an active namespace's quota is held for it through the window": {
			windows: [][]ask{{{"a", 1, 1}, {"b", 1, 1}}, {{"b", 1, 2}, {"a", 1, 30}, {"b", 1, 30}}},
			want:    []map[string]int{{"a": 1, "b": 1}, {"a": 10, "b": 10}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			now := time.Unix(1_700_000_000, 0)
			b := NewBudget(100, func() time.Time { return now })
			const bucket = BucketApp
			for w, asks := range tc.windows {
				announceWindow(b, bucket, now)
				got := map[string]int{}
				for _, a := range asks {
					got[a.ns] += 0
					for range a.n {
						if b.reserve(bucket, Share{Namespace: a.ns, Weight: a.weight}) == nil {
							got[a.ns]++
						}
					}
				}
				for ns, want := range tc.want[w] {
					if got[ns] != want {
						t.Errorf("window %d: %s got %d requests, want %d (all: %v)", w, ns, got[ns], want, got)
					}
				}
				now = now.Add(10 * time.Second)
			}
		})
	}
}

func TestBudgetHoldsNoQuotaAfterAQuietMinute(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	b := NewBudget(100, func() time.Time { return now })
	announceWindow(b, BucketApp, now)
	if b.reserve(BucketApp, Share{Namespace: "b", Weight: 1}) != nil {
		t.Fatal("b's one request was refused")
	}
	now = now.Add(10*time.Second + time.Minute) // nobody asked for a minute
	got := 0
	for range 30 {
		if b.reserve(BucketApp, Share{Namespace: "a", Weight: 1}) == nil {
			got++
		}
	}
	if got != 20 {
		t.Errorf("a got %d of the window, want all 20: b asked before a quiet minute", got)
	}
}
