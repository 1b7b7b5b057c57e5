package drift

import (
	"testing"
	"time"

	"github.com/oktaop/okta-sso-operator/internal/okta"
)

func event(uuid string, at time.Time, eventType, txn string, targets ...okta.LogTarget) okta.LogEvent {
	e := okta.LogEvent{UUID: uuid, Published: at, EventType: eventType, Target: targets}
	e.Transaction.ID = txn
	return e
}

func TestRead(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	app := okta.LogTarget{ID: "0oaA", Type: "AppInstance"}
	other := okta.LogTarget{ID: "0oaB", Type: "AppInstance"}
	group := okta.LogTarget{ID: "00gG", Type: "UserGroup"}
	idp := okta.LogTarget{ID: "0oaI", Type: "IdentityProvider"}
	user := okta.LogTarget{ID: "00uU", Type: "User"}
	own := func(id string) bool { return id == "mine" }
	cases := []struct {
		name               string
		events             []okta.LogEvent
		from               okta.LogCursor
		apps, idps, groups []string
		cursorAt           time.Time
		cursorIDs          int
	}{
		{name: "a hand change to an app names it", events: []okta.LogEvent{event("1", t0, "application.lifecycle.update", "hand", app)},
			apps: []string{"0oaA"}, cursorAt: t0, cursorIDs: 1},
		{name: "the operator's own change names nothing but moves the cursor", events: []okta.LogEvent{event("1", t0, "application.lifecycle.update", "mine", app)},
			cursorAt: t0, cursorIDs: 1},
		{name: "a group assigned to an app is the app's change, not the group's",
			events: []okta.LogEvent{event("1", t0, "group.application_assignment.remove", "hand", app, group)}, apps: []string{"0oaA"}, cursorAt: t0, cursorIDs: 1},
		{name: "a group renamed or deleted is the group's change",
			events: []okta.LogEvent{event("1", t0, "group.profile.update", "hand", group), event("2", t0.Add(time.Second), "group.lifecycle.delete", "", group)},
			groups: []string{"00gG"}, cursorAt: t0.Add(time.Second), cursorIDs: 1},
		{name: "a user assigned by hand names the app",
			events: []okta.LogEvent{event("1", t0, "application.user_membership.add", "hand", okta.LogTarget{ID: "0uaX", Type: "AppUser"}, other, user)}, apps: []string{"0oaB"}, cursorAt: t0, cursorIDs: 1},
		{name: "an IdP changed by hand", events: []okta.LogEvent{event("1", t0, "system.idp.lifecycle.update", "hand", idp)}, idps: []string{"0oaI"}, cursorAt: t0, cursorIDs: 1},
		{name: "events the filter let through but that change nothing the operator keeps",
			events: []okta.LogEvent{event("1", t0, "user.lifecycle.suspend", "hand", user)}, cursorAt: t0, cursorIDs: 1},
		{name: "events at or before the cursor are read once",
			events: []okta.LogEvent{event("1", t0, "application.lifecycle.update", "hand", app), event("2", t0, "application.lifecycle.update", "hand", other)},
			from:   okta.LogCursor{Published: t0, IDs: map[string]bool{"1": true}}, apps: []string{"0oaB"}, cursorAt: t0, cursorIDs: 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			touched, cursor := Read(tc.events, tc.from, own)
			for _, check := range []struct {
				got  map[string]bool
				want []string
			}{{touched.Apps, tc.apps}, {touched.IdPs, tc.idps}, {touched.Groups, tc.groups}} {
				if len(check.got) != len(check.want) {
					t.Errorf("touched %v, want %v", check.got, check.want)
				}
				for _, id := range check.want {
					if !check.got[id] {
						t.Errorf("%s not touched: %v", id, check.got)
					}
				}
			}
			if !cursor.Published.Equal(tc.cursorAt) || len(cursor.IDs) != tc.cursorIDs {
				t.Errorf("cursor %v with %d IDs, want %v with %d", cursor.Published, len(cursor.IDs), tc.cursorAt, tc.cursorIDs)
			}
		})
	}
}

// TestNextSweep: each object comes back once a period, at its own phase,
// and a thousand objects spread evenly over the period.
func TestNextSweep(t *testing.T) {
	now := time.Date(2026, 12, 5, 9, 30, 0, 0, time.UTC)
	const period = 24 * time.Hour
	next := NextSweep(now, "uid-1", period)
	if !next.After(now) || next.Sub(now) > period {
		t.Fatalf("next sweep %v is not within a period after %v", next, now)
	}
	if again := NextSweep(next, "uid-1", period); again.Sub(next) != period {
		t.Errorf("swept at its time, the object comes back %v later, want a period", again.Sub(next))
	}
	if NextSweep(now.Add(time.Minute), "uid-1", period) != next && next.Sub(now) > time.Minute {
		t.Error("the phase moved with the time of the reconcile")
	}
	perHour := make([]int, 24)
	for i := range 1000 {
		at := NextSweep(now, "uid-"+string(rune('a'+i%26))+time.Duration(i).String(), period)
		perHour[int(at.Sub(now)/time.Hour)]++
	}
	for h, n := range perHour {
		if n < 20 || n > 70 { // 41.7 an hour on average
			t.Errorf("hour %d has %d of 1,000 sweeps: not spread evenly (%v)", h, n, perHour)
		}
	}
}
