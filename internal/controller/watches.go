package controller

import (
	"context"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/source"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
)

// requestsByIndex maps an object (a Secret, an app) to a request for each
// object of list's kind, in the same namespace, whose field index names
// it: how a controller watches what its objects reference.
func requestsByIndex(c client.Reader, list client.ObjectList, index string) handler.MapFunc {
	return func(ctx context.Context, o client.Object) []ctrl.Request {
		found := list.DeepCopyObject().(client.ObjectList)
		if err := c.List(ctx, found, client.InNamespace(o.GetNamespace()), client.MatchingFields{index: o.GetName()}); err != nil {
			return nil
		}
		items, err := meta.ExtractList(found)
		if err != nil {
			return nil
		}
		reqs := make([]ctrl.Request, 0, len(items))
		for _, item := range items {
			if obj, ok := item.(client.Object); ok {
				reqs = append(reqs, ctrl.Request{NamespacedName: types.NamespacedName{Namespace: obj.GetNamespace(), Name: obj.GetName()}})
			}
		}
		return reqs
	}
}

// waker puts objects back on a controller's queue from outside any watch:
// a channel source the controller watches, fed without blocking the caller.
type waker struct {
	ch     chan event.GenericEvent
	newObj func() client.Object
}

func newWaker(newObj func() client.Object) waker {
	return waker{ch: make(chan event.GenericEvent, 1024), newObj: newObj}
}

func (w waker) source() source.Source {
	return source.Channel(w.ch, &handler.EnqueueRequestForObject{})
}

// wake queues the object; while the buffer is full (the queue catching up)
// it is sent from a goroutine of its own.
func (w waker) wake(key types.NamespacedName) {
	obj := w.newObj()
	obj.SetNamespace(key.Namespace)
	obj.SetName(key.Name)
	select {
	case w.ch <- event.GenericEvent{Object: obj}:
	default:
		go func() { w.ch <- event.GenericEvent{Object: obj} }()
	}
}

// byBoundApp maps an SSOBinding to what byApp maps its app to.
func byBoundApp(byApp handler.MapFunc) handler.MapFunc {
	return func(ctx context.Context, o client.Object) []ctrl.Request {
		b, ok := o.(*ssov1.SSOBinding)
		if !ok {
			return nil
		}
		app := &ssov1.OktaSAMLApp{ObjectMeta: metav1.ObjectMeta{Namespace: b.Namespace, Name: string(b.Spec.AppRef.Name)}}
		return byApp(ctx, app)
	}
}

// bindingAssignmentsChanged passes a binding created or deleted, and one
// whose assignments in Okta changed (what it resolved, how many it holds).
var bindingAssignmentsChanged = predicate.Funcs{
	UpdateFunc: func(e event.UpdateEvent) bool {
		oldB, newB := e.ObjectOld.(*ssov1.SSOBinding), e.ObjectNew.(*ssov1.SSOBinding)
		return oldB.Status.AssignedCount != newB.Status.AssignedCount || !equality.Semantic.DeepEqual(oldB.Status.Resolved, newB.Status.Resolved)
	},
}
