package controller

import (
	"errors"
	"math/rand/v2"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/record"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
	"github.com/oktaop/okta-sso-operator/internal/okta"
	oktaorg "github.com/oktaop/okta-sso-operator/internal/org"
)

// outcome is how a failed reconcile shows and when it is retried, per the
// house table: 429 Throttled (requeue at reset, no error), 401/403
// AuthFailed (error, backoff), 400 or a bad spec InvalidSpec with Stalled
// (terminal), a missing Secret SecretNotFound (watched, slow requeue), a
// referenced object not there or not ready DependencyNotReady (watched,
// slow requeue), anything else ReconcileError (error, backoff).
type outcome struct {
	reason  string
	stalled bool
	result  ctrl.Result
	err     error
}

// throttleSpread spreads the objects a spent budget sent back over the
// start of the next window.
const throttleSpread = 250 * time.Millisecond

func classify(err error, now time.Time, interval time.Duration) outcome {
	if retryAt, limited := okta.IsRateLimited(err); limited {
		// Back at the reset, spread over a quarter of a second: the window's
		// share is there to be used, and the budget turns away the rest.
		return outcome{reason: ssov1.ThrottledReason, result: ctrl.Result{RequeueAfter: max(retryAt.Sub(now), time.Second) + time.Duration(rand.Float64()*float64(throttleSpread))}}
	}
	switch {
	case okta.IsAuth(err):
		return outcome{reason: ssov1.AuthFailedReason, err: err}
	case isSecretError(err):
		return outcome{reason: ssov1.SecretNotFoundReason, result: ctrl.Result{RequeueAfter: jitter(interval, 0.1)}}
	case asCondition(err) != nil:
		e := asCondition(err)
		o := outcome{reason: e.reason, stalled: e.stalled, result: ctrl.Result{RequeueAfter: jitter(interval, 0.1)}}
		if e.transient {
			o.result, o.err = ctrl.Result{}, err // retried with backoff
		} else if e.stalled {
			o.result, o.err = ctrl.Result{}, reconcile.TerminalError(err)
		}
		return o
	case isDependencyError(err):
		return outcome{reason: ssov1.DependencyNotReadyReason, result: ctrl.Result{RequeueAfter: jitter(interval, 0.1)}}
	case isPolicyDenied(err) || isTargetRefused(err): // the org object is watched, so a change to its policy retries at once; a limit is looked at again each interval
		return outcome{reason: ssov1.PolicyDeniedReason, stalled: true, result: ctrl.Result{RequeueAfter: jitter(interval, 0.1)}}
	case isOrgNotAllowed(err): // the org object is watched: a change to its conditions retries at once
		return outcome{reason: ssov1.OrgNotAllowedReason, result: ctrl.Result{RequeueAfter: jitter(interval, 0.1)}}
	case isInvalidSpec(err):
		return outcome{reason: ssov1.InvalidSpecReason, stalled: true, err: reconcile.TerminalError(err)}
	}
	if _, invalid := okta.IsInvalid(err); invalid {
		return outcome{reason: ssov1.InvalidSpecReason, stalled: true, err: reconcile.TerminalError(err)}
	}
	return outcome{reason: ssov1.ReconcileErrorReason, err: err}
}

// errSecret is a missing or incomplete Secret: a person must fix it, and the
// Secret is watched, so the fix is picked up at once.
type errSecret struct{ msg string }

func (e *errSecret) Error() string { return e.msg }

// errInvalidSpec is a spec the operator cannot apply as written.
type errInvalidSpec struct{ msg string }

func (e *errInvalidSpec) Error() string { return e.msg }

// errCondition is a failure that names its own reason (SafeguardTripped,
// SourceIncomplete, TargetUnavailable ...): transient ones are retried with
// backoff, stalled ones wait for a person, the others for the interval.
type errCondition struct {
	reason, msg        string
	transient, stalled bool
}

func (e *errCondition) Error() string { return e.msg }

// asCondition returns the errCondition err wraps, or nil.
func asCondition(err error) *errCondition {
	var e *errCondition
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// errDependency is a referenced object that is missing or not ready yet;
// the reference is watched, so its arrival is picked up at once.
type errDependency struct{ msg string }

func (e *errDependency) Error() string { return e.msg }

func isSecretError(err error) bool {
	var e *errSecret
	var o *oktaorg.SecretError
	return errors.As(err, &e) || errors.As(err, &o)
}

func isInvalidSpec(err error) bool {
	var e *errInvalidSpec
	var o *oktaorg.InvalidError
	return errors.As(err, &e) || errors.As(err, &o)
}

func isDependencyError(err error) bool {
	var e *errDependency
	var o *oktaorg.DependencyError
	return errors.As(err, &e) || errors.As(err, &o)
}

func isPolicyDenied(err error) bool {
	var e *oktaorg.PolicyDeniedError
	return errors.As(err, &e)
}

// isTargetRefused is a connection the egress check refused (a namespace's
// URL resolving where its org does not allow): a policy refusal too.
func isTargetRefused(err error) bool {
	var e *oktaorg.RefusedError
	return errors.As(err, &e)
}

func isOrgNotAllowed(err error) bool {
	var e *oktaorg.NotAllowedError
	return errors.As(err, &e)
}

// jitter spreads requeues so objects created together do not return together.
func jitter(d time.Duration, fraction float64) time.Duration {
	if d <= 0 {
		return d
	}
	return d + time.Duration(rand.Float64()*fraction*float64(d))
}

// conditions sets Ready, Synced and Stalled and emits an event for each
// transition of Ready, with the reason as the event's reason.
type conditions struct {
	obj        client.Object
	list       *[]metav1.Condition
	generation int64
	recorder   record.EventRecorder
}

func (c conditions) set(condType string, status metav1.ConditionStatus, reason, message string) {
	before := meta.FindStatusCondition(*c.list, condType)
	meta.SetStatusCondition(c.list, metav1.Condition{Type: condType, Status: status, Reason: reason, Message: message, ObservedGeneration: c.generation})
	if condType != ssov1.ReadyCondition || (before != nil && before.Status == status && before.Reason == reason) {
		return
	}
	kind := "Normal"
	if status != metav1.ConditionTrue {
		kind = "Warning"
	}
	c.recorder.Event(c.obj, kind, reason, message)
}

// succeeded marks the object reconciled: Ready from the Okta state, Synced.
func (c conditions) succeeded(readyReason, message string) {
	c.set(ssov1.ReadyCondition, metav1.ConditionTrue, readyReason, message)
	c.set(ssov1.SyncedCondition, metav1.ConditionTrue, ssov1.ReconcileSucceededReason, "The spec is applied in Okta")
	meta.RemoveStatusCondition(c.list, ssov1.StalledCondition)
}

// failed records a failed reconcile.
func (c conditions) failed(o outcome, message string) {
	c.set(ssov1.ReadyCondition, metav1.ConditionFalse, o.reason, message)
	c.set(ssov1.SyncedCondition, metav1.ConditionFalse, o.reason, message)
	if o.stalled {
		c.set(ssov1.StalledCondition, metav1.ConditionTrue, o.reason, message)
	} else {
		meta.RemoveStatusCondition(c.list, ssov1.StalledCondition)
	}
}
