package controller

import (
	"context"
	"maps"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/record"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
)

// object is what the shared reconcile needs of every kind.
type object interface {
	client.Object
	GetCommonStatus() *ssov1.CommonStatus
	StatusSnapshot() any
	IsSuspended() bool
	ReconcileInterval() time.Duration
}

// kindSteps is what a kind adds to the shared reconcile.
type kindSteps[T object] interface {
	// apply runs the kind's steps in order and returns when to look again.
	apply(ctx context.Context, obj T, conds conditions) (time.Duration, error)
	// finalize cleans up outside the cluster; it runs only while the
	// finalizer is on the object and ends with releaseFinalizer.
	finalize(ctx context.Context, obj T, conds conditions) (ctrl.Result, error)
}

// lifecycle holds what the shared reconcile uses of a reconciler.
type lifecycle struct {
	client   client.Client
	recorder record.EventRecorder
	now      func() time.Time
}

// reconcileObject is the reconcile every kind shares (Flux's shape): get the
// object, keep a copy, patch status once at the end and only when it
// changed; then deletion, finalizer, suspend, in that order; then the kind's
// steps. Failures become conditions and a requeue by the house table;
// success records the generation and the handled reconcile request.
func reconcileObject[T object](ctx context.Context, l lifecycle, req ctrl.Request, obj T, kind kindSteps[T]) (result ctrl.Result, retErr error) {
	if err := l.client.Get(ctx, req.NamespacedName, obj); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	before := obj.DeepCopyObject().(T)
	defer func() {
		if err := patchStatusIfChanged(ctx, l.client, before, obj); err != nil && retErr == nil {
			retErr = err
		}
	}()
	status := obj.GetCommonStatus()
	conds := conditions{obj: obj, list: &status.Conditions, generation: obj.GetGeneration(), recorder: l.recorder}

	if !obj.GetDeletionTimestamp().IsZero() {
		if !controllerutil.ContainsFinalizer(obj, ssov1.Finalizer) {
			return ctrl.Result{}, nil
		}
		return kind.finalize(ctx, obj, conds)
	}
	if err := addFinalizer(ctx, l.client, obj); err != nil {
		return ctrl.Result{}, err
	}
	if obj.IsSuspended() {
		conds.set(ssov1.ReadyCondition, metav1.ConditionFalse, ssov1.SuspendedReason, "spec.suspend is true: Okta is neither read nor written")
		return ctrl.Result{}, nil
	}
	requeue, err := kind.apply(ctx, obj, conds)
	if err != nil {
		return l.failed(ctx, obj, conds, err, "")
	}
	status.ObservedGeneration = obj.GetGeneration()
	if token, ok := ssov1.ReconcileRequestedAt(obj.GetAnnotations()); ok {
		status.LastHandledReconcileAt = token
	}
	if _, swept := any(kind).(sweptKind); swept {
		return ctrl.Result{RequeueAfter: requeue}, nil
	}
	return ctrl.Result{RequeueAfter: jitter(min(requeue, obj.ReconcileInterval()), 0.1)}, nil
}

// sweptKind is a kind whose apply says itself when to read Okta again: at
// its place in the org's safety sweep while drift reaches it through the
// System Log, or after its interval.
type sweptKind interface{ sweptByDrift() }

func (*OktaSAMLAppReconciler) sweptByDrift()              {}
func (*OktaSAMLIdentityProviderReconciler) sweptByDrift() {}

// failed reports err as conditions (and, through them, an event) and says
// when to retry; doing names what failed when the error alone does not.
func (l lifecycle) failed(ctx context.Context, obj object, conds conditions, err error, doing string) (ctrl.Result, error) {
	o := classify(err, l.now(), obj.ReconcileInterval())
	message := err.Error()
	if doing != "" {
		message = doing + ": " + message
	}
	conds.failed(o, message)
	log.FromContext(ctx).Info("Reconcile failed", "reason", o.reason, "error", message)
	return o.result, o.err
}

// patchAnnotations sets (or, for nil, removes) annotations at once, so a
// create-pending marker or a recorded ID survives a crash. It patches a
// copy: the answer carries the stored status, and obj keeps the status this
// reconcile has built so far.
func patchAnnotations(ctx context.Context, c client.Client, obj client.Object, set map[string]*string) error {
	patched := obj.DeepCopyObject().(client.Object)
	base := patched.DeepCopyObject().(client.Object)
	annotations := maps.Clone(patched.GetAnnotations())
	if annotations == nil {
		annotations = map[string]string{}
	}
	for k, v := range set {
		if v == nil {
			delete(annotations, k)
		} else {
			annotations[k] = *v
		}
	}
	patched.SetAnnotations(annotations)
	if err := c.Patch(ctx, patched, client.MergeFrom(base)); err != nil {
		return err
	}
	obj.SetAnnotations(patched.GetAnnotations())
	obj.SetResourceVersion(patched.GetResourceVersion())
	return nil
}

// addFinalizer puts the operator's finalizer on the object. It is a patch
// of the finalizers alone: an Update would send back the whole spec as Go
// serialises it ("24h" as "24h0m0s"), writing the user's spec, which
// GitOps tools would see as a diff and which would bump the generation.
func addFinalizer(ctx context.Context, c client.Client, obj client.Object) error {
	base := obj.DeepCopyObject().(client.Object)
	if !controllerutil.AddFinalizer(obj, ssov1.Finalizer) {
		return nil
	}
	return c.Patch(ctx, obj, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}))
}

// releaseFinalizer lets the object go once its clean-up is done, patching
// the finalizers alone, as addFinalizer does.
func releaseFinalizer(ctx context.Context, c client.Client, obj client.Object) (ctrl.Result, error) {
	base := obj.DeepCopyObject().(client.Object)
	if !controllerutil.RemoveFinalizer(obj, ssov1.Finalizer) {
		return ctrl.Result{}, nil
	}
	return ctrl.Result{}, c.Patch(ctx, obj, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}))
}

// patchStatusIfChanged writes status only when the reconcile changed it, so
// a no-op check writes nothing (Argo CD and etcd see no churn).
func patchStatusIfChanged(ctx context.Context, c client.Client, before, obj object) error {
	if equality.Semantic.DeepEqual(before.StatusSnapshot(), obj.StatusSnapshot()) {
		return nil
	}
	if err := c.Status().Patch(ctx, obj, client.MergeFrom(before)); err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	return nil
}
