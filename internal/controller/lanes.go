package controller

import (
	"sync"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/source"
)

// orgLanes gives each Okta org a lane of at most perOrg reconciles at once
// out of the controller's shared workers, so an org that answers slowly or
// is throttled holds its own lane and never another org's. A request that
// finds its lane full is parked, not requeued, and put back on the queue
// when a reconcile of the same org ends: a busy org costs no polling.
type orgLanes struct {
	perOrg int
	newObj func() client.Object

	mu     sync.Mutex
	busy   map[string]int
	parked map[string][]types.NamespacedName
	queued map[types.NamespacedName]bool
	wake   chan event.GenericEvent
}

func newOrgLanes(perOrg int, newObj func() client.Object) *orgLanes {
	return &orgLanes{
		perOrg: max(perOrg, 1), newObj: newObj,
		busy: map[string]int{}, parked: map[string][]types.NamespacedName{}, queued: map[types.NamespacedName]bool{},
		wake: make(chan event.GenericEvent, 1024),
	}
}

// source feeds woken requests back into the controller's queue.
func (l *orgLanes) source() source.Source {
	return source.Channel(l.wake, &handler.EnqueueRequestForObject{})
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
	if next == nil {
		return
	}
	obj := l.newObj()
	obj.SetNamespace(next.Namespace)
	obj.SetName(next.Name)
	select {
	case l.wake <- event.GenericEvent{Object: obj}:
	default:
		// The buffer is full while the queue catches up; never block a
		// worker on it.
		go func() { l.wake <- event.GenericEvent{Object: obj} }()
	}
}
