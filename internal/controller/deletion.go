package controller

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
	"github.com/oktaop/okta-sso-operator/internal/okta"
)

// oktaDeletion is what finalizing an object that owns something in Okta
// needs: the object, its org Secret, what it owns there (what and id, for
// the events), whether to delete it, and how.
type oktaDeletion struct {
	obj        object
	orgSecret  string
	what, id   string
	keep       bool // deletionPolicy Orphan, nothing created yet, or suspended
	deleteWith func(ctx context.Context, c okta.API) error
}

// finalizeInOkta deletes what an object owns in Okta (unless it is kept)
// and releases the object. When the org Secret is gone first (a whole
// namespace being deleted), Okta cannot be reached and waiting would hang
// the namespace: the object is released with a LeftInOkta warning.
func finalizeInOkta(ctx context.Context, l lifecycle, orgs Orgs, conds conditions, d oktaDeletion) (ctrl.Result, error) {
	if d.keep {
		return releaseFinalizer(ctx, l.client, d.obj)
	}
	org, err := orgs.Get(ctx, d.obj.GetNamespace(), d.orgSecret)
	if isSecretError(err) {
		l.recorder.Event(d.obj, corev1.EventTypeWarning, "LeftInOkta",
			"The "+d.what+" "+d.id+" was not deleted in Okta because the org Secret is gone: "+err.Error())
		return releaseFinalizer(ctx, l.client, d.obj)
	}
	if err == nil {
		err = d.deleteWith(ctx, org.Client)
	}
	if err != nil {
		return l.failed(ctx, d.obj, conds, err, "deleting the "+d.what+" in Okta")
	}
	l.recorder.Event(d.obj, corev1.EventTypeNormal, ssov1.DeletingReason, "Deactivated and deleted "+d.what+" "+d.id+" in Okta")
	return releaseFinalizer(ctx, l.client, d.obj)
}
