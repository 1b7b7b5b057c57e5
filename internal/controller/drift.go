package controller

import (
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
	"github.com/oktaop/okta-sso-operator/internal/drift"
)

// DriftWatch connects the System Log follower to the controllers of the
// objects the operator keeps in Okta. The follower wakes an object when
// the log shows someone else changed it in Okta, and says whether each
// org's log is followed without a gap; while it is, an object in sync is
// read in full only at its place in the org's safety sweep (once a
// driftSweepInterval), not every interval, so the idle cost of an org does
// not grow with its number of objects.
type DriftWatch struct {
	apps, bindings, idps waker

	mu   sync.Mutex
	gaps map[string]bool // org URL → its log is not being read
}

// NewDriftWatch makes a watch with no gaps.
func NewDriftWatch() *DriftWatch {
	return &DriftWatch{
		apps:     newWaker(func() client.Object { return &ssov1.OktaSAMLApp{} }),
		bindings: newWaker(func() client.Object { return &ssov1.OktaSAMLApp{} }), // binding passes are keyed by their app
		idps:     newWaker(func() client.Object { return &ssov1.OktaSAMLIdentityProvider{} }),
		gaps:     map[string]bool{},
	}
}

// follows tells whether changes in the org reach the operator through its
// log: following is on and no poll has been failing for long.
func (d *DriftWatch) follows(org *Org) bool {
	if d == nil || org == nil || org.LogPoll == 0 || org.Sweep == 0 {
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return !d.gaps[org.URL]
}

// setGap records whether the org's log has a gap (true) or is read again.
func (d *DriftWatch) setGap(url string, gap bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if gap {
		d.gaps[url] = true
	} else {
		delete(d.gaps, url)
	}
}

// recheckAfter is when an object in sync is read in full again: at its
// place in the org's safety sweep while the org's log is followed, after
// its interval (spread by a tenth) otherwise. sweepKey places it in the
// sweep; an object's UID keeps its place across restarts.
func (d *DriftWatch) recheckAfter(org *Org, sweepKey string, interval time.Duration, now time.Time) time.Duration {
	if !d.follows(org) {
		return jitter(interval, 0.1)
	}
	return drift.NextSweep(now, sweepKey, org.Sweep).Sub(now)
}

// wakeApp queues an app and the pass over its bindings.
func (d *DriftWatch) wakeApp(key types.NamespacedName) {
	d.apps.wake(key)
	d.bindings.wake(key)
}
