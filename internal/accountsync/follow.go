package accountsync

import (
	"time"

	"github.com/oktaop/okta-sso-operator/internal/okta"
)

// Between full runs a sync follows the org's System Log: each event that
// can change what a run would do for some user names that user, and an
// incremental pass plans just those users with the same planner.

// FollowedEventTypes are the System Log events that can change a sync's
// plan: a user's lifecycle and profile, their group and app memberships.
var FollowedEventTypes = []string{
	"user.lifecycle.activate", "user.lifecycle.deactivate", "user.lifecycle.suspend", "user.lifecycle.unsuspend",
	"user.lifecycle.reactivate", "user.lifecycle.delete.initiated", "user.account.update_profile",
	"group.user_membership.add", "group.user_membership.remove",
	"application.user_membership.add", "application.user_membership.remove",
}

// FollowFilter is the System Log filter for FollowedEventTypes.
func FollowFilter() string { return okta.EventTypeFilter(FollowedEventTypes...) }

// Cursor is a place in the System Log (okta.LogCursor).
type Cursor = okta.LogCursor

// Followed is what the events after a cursor ask of one sync: the users to
// plan again, each with whether they may have left the app (so their
// account is looked for even when Okta no longer assigns them), the cursor
// after the events, and when the last of them happened.
type Followed struct {
	Users     map[string]bool
	Cursor    Cursor
	LastEvent time.Time
}

// Follow reads events (in the log's order) for a sync of the app, from the
// cursor. An app membership event of another app concerns nobody here;
// every other followed event names a user the pass must look at.
func Follow(events []okta.LogEvent, appID string, from Cursor) Followed {
	f := Followed{Users: map[string]bool{}, Cursor: from}
	for _, e := range events {
		if !from.Precedes(e) {
			continue
		}
		f.Cursor.Advance(e)
		f.LastEvent = e.Published
		user, ok := e.TargetOf("User")
		if !ok {
			continue
		}
		left := false
		switch e.EventType {
		case "application.user_membership.add", "application.user_membership.remove":
			if app, ok := e.TargetOf("AppInstance"); !ok || app.ID != appID {
				continue
			}
			left = e.EventType == "application.user_membership.remove"
		case "group.user_membership.remove", "user.lifecycle.deactivate", "user.lifecycle.suspend", "user.lifecycle.delete.initiated":
			left = true
		}
		f.Users[user.ID] = f.Users[user.ID] || left
	}
	return f
}
