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
// when a reconcile of the same org ends: a busy org costs no polling. The
// parked are woken a namespace at a time in turn, so a namespace with a
// thousand objects waiting holds up another's one by one turn at most;
// within a namespace, in the order they came.
type orgLanes struct {
	perOrg int
	waker

	mu     sync.Mutex
	busy   map[string]int
	parked map[string]*turns
	queued map[types.NamespacedName]bool
}

// turns are the requests parked for one org, by namespace, and the order
// in which the namespaces take their turns.
type turns struct {
	order []string
	byNS  map[string][]types.NamespacedName
}

func (t *turns) push(key types.NamespacedName) {
	if len(t.byNS[key.Namespace]) == 0 {
		t.order = append(t.order, key.Namespace)
	}
	t.byNS[key.Namespace] = append(t.byNS[key.Namespace], key)
}

// pop takes the first request of the namespace whose turn it is, and puts
// the namespace at the back of the line if it has more.
func (t *turns) pop() types.NamespacedName {
	ns := t.order[0]
	t.order = t.order[1:]
	next := t.byNS[ns][0]
	if t.byNS[ns] = t.byNS[ns][1:]; len(t.byNS[ns]) > 0 {
		t.order = append(t.order, ns)
	} else {
		delete(t.byNS, ns)
	}
	return next
}

func newOrgLanes(perOrg int, newObj func() client.Object) *orgLanes {
	return &orgLanes{
		perOrg: max(perOrg, 1), waker: newWaker(newObj),
		busy: map[string]int{}, parked: map[string]*turns{}, queued: map[types.NamespacedName]bool{},
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
			if l.parked[org] == nil {
				l.parked[org] = &turns{byNS: map[string][]types.NamespacedName{}}
			}
			l.parked[org].push(key)
		}
		return nil, false
	}
	l.busy[org]++
	return func() { l.leave(org) }, true
}

// leave frees the place and wakes the parked request whose turn it is.
func (l *orgLanes) leave(org string) {
	l.mu.Lock()
	l.busy[org]--
	if l.busy[org] == 0 {
		delete(l.busy, org)
	}
	var next *types.NamespacedName
	if waiting := l.parked[org]; waiting != nil {
		key := waiting.pop()
		next = &key
		if len(waiting.order) == 0 {
			delete(l.parked, org)
		}
		delete(l.queued, key)
	}
	l.mu.Unlock()
	if next != nil {
		l.wake(*next)
	}
}
