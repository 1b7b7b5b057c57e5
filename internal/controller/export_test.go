package controller

import "context"

// PollNow polls every org at once, whatever their periods, as the follower
// does when they are due.
func (f *LogFollower) PollNow(ctx context.Context) {
	f.mu.Lock()
	f.lastPoll, f.notBefore = nil, nil
	f.mu.Unlock()
	f.pollDue(ctx)
}

// OktaClockSkew is how far before a create's start an IdP found after a
// crash may have been created.
const OktaClockSkew = oktaClockSkew

// Follows tells whether changes in the org reach the operator through its
// System Log.
func (d *DriftWatch) Follows(org *Org) bool { return d.follows(org) }
