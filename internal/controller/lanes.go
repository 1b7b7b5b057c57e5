package controller

import (
	"sync"

	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
)

// lanes gives each key (an Okta org for OktaSAMLApps; a namespace for
// AccountSyncs, SSOBindings and identity providers) a lane of at most
// perKey reconciles at once out of the controller's shared workers, so an
// org or a team's target that answers slowly or is throttled holds its own
// lane and never another's. A request that finds its lane full is parked,
// not requeued, and put back on the queue when a reconcile of the same key
// ends: a busy lane costs no polling. The parked are woken a namespace at a
// time in turn, so a namespace with a thousand objects waiting holds up
// another's one by one turn at most; within a namespace, in the order they
// came.
type lanes struct {
	perKey int
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

func newLanes(perKey int, newObj func() client.Object) *lanes {
	return &lanes{
		perKey: max(perKey, 1), waker: newWaker(newObj),
		busy: map[string]int{}, parked: map[string]*turns{}, queued: map[types.NamespacedName]bool{},
	}
}

// NamespaceLanes are a controller's workers and each namespace's share of
// them: a team whose service provider hangs holds PerNamespace workers,
// never all of them.
type NamespaceLanes struct {
	// Workers is how many objects of the kind are reconciled at once, all
	// namespaces together (1 when zero).
	Workers int
	// PerNamespace is how many of one namespace at once (1 when zero).
	PerNamespace int

	lanes *lanes
}

// withLanes gives the controller its workers and the lanes' wake-ups;
// newObj makes the object its requests are named after.
func (n *NamespaceLanes) withLanes(b *builder.Builder, newObj func() client.Object) *builder.Builder {
	n.lanes = newLanes(n.PerNamespace, newObj)
	return b.WatchesRawSource(n.lanes.source()).WithOptions(controller.Options{MaxConcurrentReconciles: max(n.Workers, 1)})
}

// inLane runs the reconcile in the lane of the request's namespace; a
// request that finds it full is parked and woken when a reconcile of that
// namespace ends.
func (n *NamespaceLanes) inLane(req ctrl.Request, reconcile func() (ctrl.Result, error)) (ctrl.Result, error) {
	if n.lanes == nil { // a reconciler the tests drive by hand
		return reconcile()
	}
	release, admitted := n.lanes.enter(req.Namespace, req.NamespacedName)
	if !admitted {
		return ctrl.Result{}, nil
	}
	defer release()
	return reconcile()
}

// enter takes a place in the key's lane for the object, or parks it and
// says so. The caller must call the release it gets.
func (l *lanes) enter(org string, key types.NamespacedName) (release func(), admitted bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.busy[org] >= l.perKey {
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
func (l *lanes) leave(org string) {
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
