package controller

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
)

// oktaDeletion is what finalizing an object that owns something in Okta
// needs: the object, its orgRef, what it owns there (what and id, for
// the events), whether Okta is called at all, and what to do there.
type oktaDeletion struct {
	obj      object
	orgRef   ssov1.OrgReference
	what, id string
	// untouched: nothing is owned in Okta, or the object is suspended.
	untouched bool
	// finish deletes or releases what the object owns and says which, for
	// the event (a zero finalized: nothing was there).
	finish func(ctx context.Context, org *Org) (finalized, error)
}

// finalized is what finishing an object in Okta did, as an event.
type finalized struct{ reason, message string }

// finalizeInOkta deletes or releases what an object owns in Okta (unless
// Okta is left untouched) and releases the object. When the org cannot be
// reached any more (its Secret or org object gone first, a whole namespace
// being deleted; the namespace taken out of a ClusterOktaOrg's conditions),
// waiting would hang the object and its namespace: it is released with a
// LeftInOkta warning naming what is left.
func finalizeInOkta(ctx context.Context, l lifecycle, orgs Orgs, conds conditions, d oktaDeletion) (ctrl.Result, error) {
	if d.untouched {
		return releaseFinalizer(ctx, l.client, d.obj)
	}
	org, err := orgs.Get(ctx, d.obj.GetNamespace(), d.orgRef)
	if isSecretError(err) || isDependencyError(err) || isOrgNotAllowed(err) {
		l.recorder.Event(d.obj, corev1.EventTypeWarning, "LeftInOkta",
			"The "+d.what+" "+d.id+" was not deleted in Okta because its org cannot be reached: "+err.Error())
		return releaseFinalizer(ctx, l.client, d.obj)
	}
	var done finalized
	if err == nil {
		done, err = d.finish(org.Scope(ctx, d.obj.GetNamespace()), org)
	}
	if err != nil {
		return l.failed(ctx, d.obj, conds, err, "finishing the "+d.what+" in Okta")
	}
	if done.reason != "" {
		l.recorder.Event(d.obj, corev1.EventTypeNormal, done.reason, done.message)
	}
	return releaseFinalizer(ctx, l.client, d.obj)
}
