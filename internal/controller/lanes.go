package controller

import (
	"sync"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// orgLanes gives each Okta org a lane of at most perOrg reconciles at once
// out of the controller's shared workers, so an org that answers slowly or
// is throttled holds its own lane and never another org's. A request that
// finds its lane full is parked, not requeued, and put back on the queue
// when a reconcile of the same org ends: a busy org costs no polling.
type orgLanes struct {
	perOrg int
	waker

	mu     sync.Mutex
	busy   map[string]int
	parked map[string][]types.NamespacedName
	queued map[types.NamespacedName]bool
}

func newOrgLanes(perOrg int, newObj func() client.Object) *orgLanes {
	return &orgLanes{
		perOrg: max(perOrg, 1), waker: newWaker(newObj),
		busy: map[string]int{}, parked: map[string][]types.NamespacedName{}, queued: map[types.NamespacedName]bool{},
	}
}

// enter takes a place in the org's lane for the object, or parks it and
// says so. The caller must call the release it gets.
func (l *orgLanes) enter(org string, key types.NamespacedName) (release func(), admitted bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.busy[org] >= l.perOrg {
		if !l.queued[key] {
			l.queued[key] = true
			l.parked[org] = append(l.parked[org], key)
		}
		return nil, false
	}
	l.busy[org]++
	return func() { l.leave(org) }, true
}

// leave frees the place and wakes the org's longest-parked request.
func (l *orgLanes) leave(org string) {
	l.mu.Lock()
	l.busy[org]--
	if l.busy[org] == 0 {
		delete(l.busy, org)
	}
	var next *types.NamespacedName
	if waiting := l.parked[org]; len(waiting) > 0 {
		next = &waiting[0]
		l.parked[org] = waiting[1:]
		if len(l.parked[org]) == 0 {
			delete(l.parked, org)
		}
		delete(l.queued, *next)
	}
	l.mu.Unlock()
	if next != nil {
		l.wake(*next)
	}
}
