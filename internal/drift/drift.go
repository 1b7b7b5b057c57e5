// Package drift reads Okta's System Log for changes to the objects the
// operator keeps (apps, their assignments and sign-on policy, groups,
// identity providers), so that a hand change in Okta is corrected within a
// log poll instead of within a per-object poll, and schedules the safety
// sweep that stands in for that poll.
package drift

import (
	"hash/fnv"
	"slices"
	"time"

	"github.com/oktaop/okta-sso-operator/internal/okta"
)

// EventTypes are the System Log events that can mean an object the
// operator keeps no longer matches its spec, in Okta's event type names.
var EventTypes = []string{
	"application.lifecycle.update", "application.lifecycle.activate", "application.lifecycle.deactivate",
	"application.lifecycle.delete", "application.policy.sign_on.update",
	"application.user_membership.add", "application.user_membership.remove",
	"group.application_assignment.add", "group.application_assignment.remove",
	"group.profile.update", "group.lifecycle.delete",
	"system.idp.lifecycle.update", "system.idp.lifecycle.activate", "system.idp.lifecycle.deactivate",
	"system.idp.lifecycle.delete",
}

// Filter is the System Log filter for EventTypes.
func Filter() string { return okta.EventTypeFilter(EventTypes...) }

// Touched are the Okta objects changed events name, by ID.
type Touched struct {
	Apps, IdPs, Groups map[string]bool
}

// Empty tells whether the events named nothing.
func (t Touched) Empty() bool { return len(t.Apps)+len(t.IdPs)+len(t.Groups) == 0 }

// Read takes the events after the cursor (in the log's order) that someone
// other than the operator caused (own tells the operator's requests by ID)
// and names the apps, IdPs and groups they changed; it returns the cursor
// after all of them, the operator's own included.
func Read(events []okta.LogEvent, from okta.LogCursor, own func(requestID string) bool) (Touched, okta.LogCursor) {
	t := Touched{Apps: map[string]bool{}, IdPs: map[string]bool{}, Groups: map[string]bool{}}
	cursor := from
	for _, e := range events {
		if !cursor.Precedes(e) {
			continue
		}
		cursor.Advance(e)
		if !slices.Contains(EventTypes, e.EventType) || (e.Transaction.ID != "" && own(e.Transaction.ID)) {
			continue
		}
		for _, target := range e.Target {
			switch target.Type {
			case "AppInstance":
				t.Apps[target.ID] = true
			case "IdentityProvider":
				t.IdPs[target.ID] = true
			case "UserGroup":
				if e.EventType == "group.profile.update" || e.EventType == "group.lifecycle.delete" {
					t.Groups[target.ID] = true // a group assigned to an app is the app's change
				}
			}
		}
	}
	return t, cursor
}

// NextSweep is when an object is next read in full by the safety sweep:
// the next instant after now at the object's own phase of the period. The
// phase comes from the object's UID, so the sweep's reads spread evenly
// over the period whatever the objects' creation times, and an object
// keeps its place across restarts.
func NextSweep(now time.Time, uid string, period time.Duration) time.Time {
	if period <= 0 {
		return now
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte(uid))
	phase := time.Duration(h.Sum64() % uint64(period))
	start := now.Truncate(period).Add(phase) // Truncate counts from the zero time: a fixed grid
	for !start.After(now) {
		start = start.Add(period)
	}
	return start
}
