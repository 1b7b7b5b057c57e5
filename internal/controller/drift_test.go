package controller

import (
	"testing"
	"time"
)

// TestRecheckAfter: an object in sync is read again at its place in the
// org's sweep while the org's log is followed without a gap, after its
// interval otherwise.
func TestRecheckAfter(t *testing.T) {
	now := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	followed := &Org{URL: "https://acme.okta.com", LogPoll: time.Minute, Sweep: 24 * time.Hour}
	notFollowed := &Org{URL: "https://acme.okta.com", LogPoll: 0, Sweep: 24 * time.Hour}
	gapped := NewDriftWatch()
	gapped.setGap(followed.URL, true)
	cases := []struct {
		name  string
		watch *DriftWatch
		org   *Org
		sweep bool
	}{
		{"the log is followed: the sweep", NewDriftWatch(), followed, true},
		{"following is off for the org: the interval", NewDriftWatch(), notFollowed, false},
		{"the org's log has a gap: the interval", gapped, followed, false},
		{"no drift detection at all: the interval", nil, followed, false},
	}
	const interval = 10 * time.Minute
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.watch.recheckAfter(tc.org, "uid-1", interval, now)
			if tc.sweep {
				if got <= 0 || got > tc.org.Sweep {
					t.Errorf("got %v, want a place within the %v sweep", got, tc.org.Sweep)
				}
				if again := tc.watch.recheckAfter(tc.org, "uid-1", interval, now.Add(time.Second)); got-again != time.Second {
					t.Errorf("the place moved: %v then %v a second later", got, again)
				}
				return
			}
			if got < 9*time.Minute || got > 11*time.Minute {
				t.Errorf("got %v, want the interval give or take a tenth", got)
			}
		})
	}
	gapped.setGap(followed.URL, false)
	if !gapped.follows(followed) {
		t.Error("the gap's end did not bring the org back to the log")
	}
}
