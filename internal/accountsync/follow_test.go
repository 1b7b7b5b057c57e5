package accountsync

import (
	"reflect"
	"testing"
	"time"

	"github.com/oktaop/okta-sso-operator/internal/okta"
)

func TestFollow(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	user := func(id string) okta.LogTarget { return okta.LogTarget{ID: id, Type: "User"} }
	app := func(id string) okta.LogTarget { return okta.LogTarget{ID: id, Type: "AppInstance"} }
	ev := func(uuid string, at time.Time, eventType string, targets ...okta.LogTarget) okta.LogEvent {
		return okta.LogEvent{UUID: uuid, Published: at, EventType: eventType, Target: targets}
	}
	events := []okta.LogEvent{
		ev("e1", t0, "user.lifecycle.deactivate", user("00uAnn")),
		ev("e2", t0, "application.user_membership.remove", okta.LogTarget{ID: "0uaBob", Type: "AppUser"}, app("0oaWiki"), user("00uBob")),
		ev("e3", t0.Add(time.Millisecond), "application.user_membership.add", app("0oaOther"), user("00uCid")),
		ev("e4", t0.Add(time.Millisecond), "group.user_membership.remove", user("00uDee"), okta.LogTarget{ID: "00gEng", Type: "UserGroup"}),
		ev("e5", t0.Add(2*time.Millisecond), "user.account.update_profile", user("00uAnn")),
	}
	tests := map[string]struct {
		from      Cursor
		wantUsers map[string]bool
		wantAt    time.Time
		wantIDs   []string
	}{
		"from the start: another app's membership concerns nobody; removals may have left": {
			from:      Cursor{Published: t0.Add(-time.Second)},
			wantUsers: map[string]bool{"00uAnn": true, "00uBob": true, "00uDee": true},
			wantAt:    t0.Add(2 * time.Millisecond), wantIDs: []string{"e5"},
		},
		"a cursor inside a millisecond skips only the events it lists": {
			from:      Cursor{Published: t0, IDs: map[string]bool{"e1": true}},
			wantUsers: map[string]bool{"00uBob": true, "00uDee": true, "00uAnn": false},
			wantAt:    t0.Add(2 * time.Millisecond), wantIDs: []string{"e5"},
		},
		"a cursor after the last event: nothing": {
			from:      Cursor{Published: t0.Add(2 * time.Millisecond), IDs: map[string]bool{"e5": true}},
			wantUsers: map[string]bool{},
			wantAt:    t0.Add(2 * time.Millisecond), wantIDs: []string{"e5"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := Follow(events, "0oaWiki", tc.from)
			if !reflect.DeepEqual(f.Users, tc.wantUsers) {
				t.Errorf("users = %v, want %v", f.Users, tc.wantUsers)
			}
			if !f.Cursor.Published.Equal(tc.wantAt) || !reflect.DeepEqual(f.Cursor.SortedIDs(), tc.wantIDs) {
				t.Errorf("cursor = %v %v, want %v %v", f.Cursor.Published, f.Cursor.SortedIDs(), tc.wantAt, tc.wantIDs)
			}
		})
	}

	// Two events of one millisecond split across polls: each applied once.
	first := Follow(events[:3], "0oaWiki", Cursor{Published: t0.Add(-time.Second)})
	second := Follow(events[2:], "0oaWiki", first.Cursor)
	if _, again := second.Users["00uBob"]; again || !second.Users["00uDee"] {
		t.Errorf("the second poll planned %v", second.Users)
	}
	if FollowFilter() == "" || len(FollowedEventTypes) != 11 {
		t.Error("the filter names no event types")
	}
}
