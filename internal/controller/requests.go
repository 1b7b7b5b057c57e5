package controller

import (
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
)

// Request annotations are set by people (or by GitOps tools applying what
// people wrote) and never edited or removed by the operator: a new value is
// a new request, and the value handled is echoed in status. Removing one
// would make Argo CD see the object OutOfSync and apply it again, which
// would repeat the request.
var requestAnnotations = []string{
	ssov1.ReconcileRequestAnnotation,
	ssov1.PromoteSigningKeyAnnotation,
	ssov1.RotateSigningKeyAnnotation,
}

// requestAnnotationChanged passes updates that change a request annotation,
// so a request is served at once; the operator's own annotation writes do
// not trigger another reconcile.
var requestAnnotationChanged = predicate.Funcs{
	UpdateFunc: func(e event.UpdateEvent) bool {
		oldA, newA := e.ObjectOld.GetAnnotations(), e.ObjectNew.GetAnnotations()
		for _, k := range requestAnnotations {
			if oldA[k] != newA[k] {
				return true
			}
		}
		return false
	},
}

// pendingRequest returns the value of a request annotation when it is set
// and is not the value last handled. A value already handled does nothing,
// after a restart too, since the handled value is kept in status.
func pendingRequest(obj client.Object, annotation, lastHandled string) (string, bool) {
	v := obj.GetAnnotations()[annotation]
	return v, v != "" && v != lastHandled
}
