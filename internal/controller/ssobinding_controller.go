package controller

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
	"github.com/oktaop/okta-sso-operator/internal/assign"
	oktaorg "github.com/oktaop/okta-sso-operator/internal/org"
)

// bindingAppIndex indexes SSOBindings by the app they target.
const bindingAppIndex = ".spec.appRef.name"

// SSOBindingReconciler keeps an app's Okta assignments as the SSOBindings
// that target it say. Its unit of work is the app, not the binding: every
// binding on one app is reconciled in one pass (one read of the app's
// groups and users, however many bindings), so bindings merge instead of
// fighting. Requests are keyed by the app's namespace and name.
type SSOBindingReconciler struct {
	client.Client
	// APIReader reads the app uncached: its annotation records what the
	// bindings assigned, and a stale copy could lose a fresh entry.
	APIReader client.Reader
	Recorder  record.EventRecorder
	Orgs      Orgs
	Now       func() time.Time
	// Drift, when set, wakes the bindings whose app or groups someone else
	// changed in Okta, and makes the periodic pass the org's safety sweep
	// while its log is followed.
	Drift *DriftWatch
	// NamespaceLanes bound what one namespace's bindings hold of the
	// workers (requests are named after the app).
	NamespaceLanes

	subjects subjectResolver
	refused  refusedRemovals
}

// SetupWithManager watches SSOBindings and the OktaSAMLApps they target,
// both mapped to the app.
func (r *SSOBindingReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.Now == nil {
		r.Now = time.Now
	}
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &ssov1.SSOBinding{}, bindingAppIndex,
		func(o client.Object) []string { return []string{string(o.(*ssov1.SSOBinding).Spec.AppRef.Name)} }); err != nil {
		return err
	}
	b := ctrl.NewControllerManagedBy(mgr).
		Named("ssobinding").
		Watches(&ssov1.SSOBinding{}, handler.EnqueueRequestsFromMapFunc(appOfBinding),
			builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, requestAnnotationChanged, deletionStarted))).
		Watches(&ssov1.OktaSAMLApp{}, &handler.EnqueueRequestForObject{}, builder.WithPredicates(appReadinessChanged))
	if r.Drift != nil {
		b = b.WatchesRawSource(r.Drift.bindings.source())
	}
	b = r.withLanes(b, func() client.Object { return &ssov1.OktaSAMLApp{} })
	// Requests are keyed by the app: an org change wakes its apps' bindings.
	return oktaorg.WatchThroughApps(b, r, r.Orgs.ClusterNamespace(), func(_ context.Context, app client.Object) []reconcile.Request {
		return []reconcile.Request{{NamespacedName: client.ObjectKeyFromObject(app)}}
	}).Complete(r)
}

func appOfBinding(_ context.Context, o client.Object) []reconcile.Request {
	b := o.(*ssov1.SSOBinding)
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: b.Namespace, Name: string(b.Spec.AppRef.Name)}}}
}

// deletionStarted passes the update that marks an object for deletion.
var deletionStarted = predicate.Funcs{
	UpdateFunc: func(e event.UpdateEvent) bool {
		return e.ObjectOld.GetDeletionTimestamp().IsZero() && !e.ObjectNew.GetDeletionTimestamp().IsZero()
	},
}

// appReadinessChanged passes an app's creation and deletion and the updates
// that matter to its bindings: its Okta ID appearing or changing, and its
// deletion starting.
var appReadinessChanged = predicate.Funcs{
	UpdateFunc: func(e event.UpdateEvent) bool {
		oldApp, newApp := e.ObjectOld.(*ssov1.OktaSAMLApp), e.ObjectNew.(*ssov1.OktaSAMLApp)
		return oldApp.Status.AppID != newApp.Status.AppID || oldApp.DeletionTimestamp.IsZero() != newApp.DeletionTimestamp.IsZero()
	},
}

// Reconcile runs one pass over every binding of the app req names.
func (r *SSOBindingReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	return r.inLane(req, func() (ctrl.Result, error) { return r.reconcileApp(ctx, req) })
}

// reconcileApp applies every binding of one app in one pass.
func (r *SSOBindingReconciler) reconcileApp(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	var list ssov1.SSOBindingList
	if err := r.List(ctx, &list, client.InNamespace(req.Namespace), client.MatchingFields{bindingAppIndex: req.Name}); err != nil {
		return ctrl.Result{}, err
	}
	if len(list.Items) == 0 {
		return ctrl.Result{}, nil
	}
	pass := newBindingPass(r, list.Items)
	defer func() {
		if err := pass.patchStatuses(ctx); err != nil && retErr == nil {
			retErr = err
		}
	}()
	reader := r.APIReader
	if reader == nil {
		reader = r.Client
	}
	app, org, err := orgThroughApp(ctx, reader, r.Orgs, req.Namespace, ssov1.LocalObjectReference{Name: ssov1.ResourceName(req.Name)})
	if err != nil {
		return pass.appUnavailable(ctx, err)
	}
	if err := pass.addFinalizers(ctx); err != nil {
		return ctrl.Result{}, err
	}
	return pass.run(org.Scope(ctx, req.Namespace), app, org)
}

// bindingPass is one pass over an app's bindings: each binding's outcome
// and status, kept until the statuses are patched at the end.
type bindingPass struct {
	r        *SSOBindingReconciler
	app      *ssov1.OktaSAMLApp
	org      *Org
	bindings []*ssov1.SSOBinding
	before   []*ssov1.SSOBinding
	// per binding (by key): what it could not resolve, and the first error
	// that belongs to it.
	missing map[string][]unresolved
	errs    map[string]error
	// denied are the bindings the tenant policy refuses: like suspended
	// ones, they keep what they have in Okta and change nothing.
	denied   map[string]bool
	notes    map[string][]string
	resolved map[string][]ssov1.ResolvedSubject
}

func newBindingPass(r *SSOBindingReconciler, items []ssov1.SSOBinding) *bindingPass {
	p := &bindingPass{r: r, missing: map[string][]unresolved{}, errs: map[string]error{}, denied: map[string]bool{}, notes: map[string][]string{},
		resolved: map[string][]ssov1.ResolvedSubject{}}
	for i := range items {
		p.bindings = append(p.bindings, &items[i])
		p.before = append(p.before, items[i].DeepCopy())
	}
	return p
}

func bindingKey(b *ssov1.SSOBinding) string { return b.Namespace + "/" + b.Name }

func (p *bindingPass) conds(b *ssov1.SSOBinding) conditions {
	return conditions{obj: b, list: &b.Status.Conditions, generation: b.Generation, recorder: p.r.Recorder}
}

func (p *bindingPass) patchStatuses(ctx context.Context) error {
	var first error
	for i, b := range p.bindings {
		if err := patchStatusIfChanged(ctx, p.r.Client, p.before[i], b); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// appUnavailable: the app is missing, not in Okta yet, or its org cannot be
// reached. Bindings being deleted are released when the app is gone or
// never reached Okta (nothing of theirs is there); the others report why.
func (p *bindingPass) appUnavailable(ctx context.Context, err error) (ctrl.Result, error) {
	result, retErr := ctrl.Result{}, error(nil)
	for _, b := range p.bindings {
		if !b.DeletionTimestamp.IsZero() && isDependencyError(err) {
			if controllerutil.ContainsFinalizer(b, ssov1.Finalizer) {
				if _, err := releaseFinalizer(ctx, p.r.Client, b); err != nil && retErr == nil {
					retErr = client.IgnoreNotFound(err)
				}
			}
			continue
		}
		next, nextErr := p.fail(ctx, b, err)
		result, retErr = mergeResults(result, retErr, next, nextErr)
	}
	return result, retErr
}

// fail reports err on one binding as the shared outcome table says.
func (p *bindingPass) fail(ctx context.Context, b *ssov1.SSOBinding, err error) (ctrl.Result, error) {
	return lifecycle{client: p.r.Client, recorder: p.r.Recorder, now: p.r.Now}.failed(ctx, b, p.conds(b), err, "")
}

func (p *bindingPass) addFinalizers(ctx context.Context) error {
	for _, b := range p.bindings {
		if b.DeletionTimestamp.IsZero() {
			if err := addFinalizer(ctx, p.r.Client, b); err != nil {
				return err
			}
		}
	}
	return nil
}

// run resolves the subjects, reads the app's assignments, merges, applies
// and reports.
func (p *bindingPass) run(ctx context.Context, app *ssov1.OktaSAMLApp, org *Org) (ctrl.Result, error) {
	p.app, p.org = app, org
	inputs, err := p.resolve(ctx, org)
	if err != nil {
		return p.failAll(ctx, err)
	}
	current, err := readAssignments(ctx, org.Client, app.Status.AppID)
	if err != nil {
		return p.failAll(ctx, err)
	}
	made := parseMade(app.Annotations[assignedAnnotation])
	plan := assign.Merge(inputs, current, made)
	p.dropSuspended(&plan)
	if err := p.r.recordMade(ctx, app, union(made, newAssignments(plan.Assign))); err != nil {
		return ctrl.Result{}, err
	}
	applied := p.apply(ctx, org, app, plan, current)
	applied.made = p.withoutOrphaned(plan, applied.made)
	if err := p.r.recordMade(ctx, app, applied.made); err != nil {
		return ctrl.Result{}, err
	}
	return p.report(ctx, plan, applied)
}

// resolve turns each binding into the merge's input. A suspended binding is
// not looked up: its last resolved subjects keep their assignments.
func (p *bindingPass) resolve(ctx context.Context, org *Org) ([]assign.Binding, error) {
	var inputs []assign.Binding
	for _, b := range p.bindings {
		key := bindingKey(b)
		found := b.Status.Resolved
		if b.DeletionTimestamp.IsZero() && !b.Spec.Suspend {
			if err := bindingPolicy(ctx, p.r, org, b); isPolicyDenied(err) {
				p.denied[key] = true
				p.setErr(key, err)
			} else if err != nil {
				return nil, err
			}
		}
		if !b.Spec.Suspend && !p.denied[key] {
			var missing []unresolved
			var err error
			found, missing, err = p.r.subjects.resolve(ctx, org, b.Spec.Subjects, p.r.Now(), b.ReconcileInterval())
			if err != nil {
				return nil, err
			}
			p.missing[key] = missing
		}
		p.resolved[key] = found
		in := assign.Binding{Key: key, Created: b.CreationTimestamp.Time, Authoritative: b.Spec.Mode == ssov1.BindingModeAuthoritative,
			Deleting: !b.DeletionTimestamp.IsZero() && !b.Spec.Suspend, Profile: profileOf(b)}
		if b.Spec.Priority != nil {
			prio := int(*b.Spec.Priority)
			in.Priority = &prio
		}
		for _, s := range found {
			in.Subjects = append(in.Subjects, refOf(s))
		}
		for _, s := range b.Status.Resolved {
			in.Previous = append(in.Previous, refOf(s))
		}
		inputs = append(inputs, in)
	}
	return inputs, nil
}

// dropSuspended takes out of the plan every change a suspended binding, or
// one the tenant policy refuses, would make: it changes nothing in Okta.
func (p *bindingPass) dropSuspended(plan *assign.Plan) {
	suspended := map[string]bool{}
	for _, b := range p.bindings {
		suspended[bindingKey(b)] = b.Spec.Suspend || p.denied[bindingKey(b)]
	}
	assignments := plan.Assign[:0]
	for _, w := range plan.Assign {
		if !suspended[w.By] {
			assignments = append(assignments, w)
		}
	}
	plan.Assign = assignments
	removals := plan.Remove[:0]
	for _, rm := range plan.Remove {
		if !suspended[rm.By] {
			removals = append(removals, rm)
		}
	}
	plan.Remove = removals
}

// withoutOrphaned drops from the record what only suspended bindings being
// deleted grant: they are released without touching Okta, so what they
// assigned stays there, as if made by hand, instead of being removed by the
// next pass.
func (p *bindingPass) withoutOrphaned(plan assign.Plan, made []assign.Ref) []assign.Ref {
	keep := map[assign.Ref]bool{}
	orphaned := map[assign.Ref]bool{}
	for _, b := range p.bindings {
		suspendedDeletion := b.Spec.Suspend && !b.DeletionTimestamp.IsZero()
		for _, ref := range plan.Granted[bindingKey(b)] {
			if suspendedDeletion {
				orphaned[ref] = true
			} else {
				keep[ref] = true
			}
		}
	}
	var out []assign.Ref
	for _, ref := range made {
		if keep[ref] || !orphaned[ref] {
			out = append(out, ref)
		}
	}
	return out
}

func (p *bindingPass) failAll(ctx context.Context, err error) (ctrl.Result, error) {
	result, retErr := ctrl.Result{}, error(nil)
	for _, b := range p.bindings {
		next, nextErr := p.fail(ctx, b, err)
		result, retErr = mergeResults(result, retErr, next, nextErr)
	}
	return result, retErr
}

// report sets each binding's status from the pass, releases the bindings
// being deleted once their assignments are gone, and says when to look
// again.
func (p *bindingPass) report(ctx context.Context, plan assign.Plan, applied appliedPlan) (ctrl.Result, error) {
	result, retErr := ctrl.Result{}, error(nil)
	for _, b := range p.bindings {
		key := bindingKey(b)
		interval := b.ReconcileInterval()
		if !b.DeletionTimestamp.IsZero() {
			if p.errs[key] == nil && controllerutil.ContainsFinalizer(b, ssov1.Finalizer) {
				if _, err := releaseFinalizer(ctx, p.r.Client, b); err != nil {
					result, retErr = mergeResults(result, retErr, ctrl.Result{}, client.IgnoreNotFound(err))
				}
				continue
			}
		}
		b.Status.Resolved = p.resolved[key]
		b.Status.AssignedCount = int32(applied.countAssigned(plan.Granted[key]))
		conds := p.conds(b)
		var o outcome
		switch {
		case b.Spec.Suspend:
			conds.set(ssov1.ReadyCondition, metav1.ConditionFalse, ssov1.SuspendedReason, "spec.suspend is true: Okta is neither read nor written")
			result, retErr = mergeResults(result, retErr, ctrl.Result{}, nil)
			continue
		case p.errs[key] != nil:
			o = classify(p.errs[key], p.r.Now(), interval)
			conds.failed(o, p.errs[key].Error())
		case len(plan.Conflicts[key]) > 0:
			o = outcome{reason: ssov1.ConflictReason, result: ctrl.Result{RequeueAfter: jitter(interval, 0.1)}}
			conds.failed(o, p.conflictMessage(plan.Conflicts[key]))
		case len(p.missing[key]) > 0:
			o = outcome{reason: ssov1.SubjectNotFoundReason, result: ctrl.Result{RequeueAfter: jitter(interval, 0.1)}}
			conds.failed(o, missingMessage(p.missing[key]))
		default:
			conds.succeeded(ssov1.ReconcileSucceededReason, successMessage(b, p.notes[key]))
			b.Status.ObservedGeneration = b.Generation
			if token, ok := ssov1.ReconcileRequestedAt(b.Annotations); ok {
				b.Status.LastHandledReconcileAt = token
			}
			o.result = ctrl.Result{RequeueAfter: p.recheckAfter(interval)}
		}
		if o.stalled { // terminal for this binding, but the app's other bindings keep their interval
			o.err = nil
			o.result = ctrl.Result{RequeueAfter: jitter(interval, 0.1)}
		}
		result, retErr = mergeResults(result, retErr, o.result, o.err)
	}
	return result, retErr
}

// recheckAfter is when the app's bindings, all in sync, are read again: at
// the pass's own place in the org's safety sweep (one read of the app's
// assignments for all its bindings), or after the interval.
func (p *bindingPass) recheckAfter(interval time.Duration) time.Duration {
	if p.app == nil {
		return jitter(interval, 0.1)
	}
	return p.r.Drift.recheckAfter(p.org, string(p.app.UID)+"/bindings", interval, p.r.Now())
}

// mergeResults keeps the first error, else the soonest requeue.
func mergeResults(result ctrl.Result, err error, next ctrl.Result, nextErr error) (ctrl.Result, error) {
	if err == nil {
		err = nextErr
	}
	if next.RequeueAfter > 0 && (result.RequeueAfter == 0 || next.RequeueAfter < result.RequeueAfter) {
		result.RequeueAfter = next.RequeueAfter
	}
	return result, err
}

func successMessage(b *ssov1.SSOBinding, notes []string) string {
	msg := fmt.Sprintf("%d of %d subjects assigned to app %s", b.Status.AssignedCount, len(b.Spec.Subjects), b.Spec.AppRef.Name)
	if len(notes) > 0 {
		msg += "; " + strings.Join(notes, "; ")
	}
	return msg
}

func missingMessage(missing []unresolved) string {
	names := make([]string, len(missing))
	for i, m := range missing {
		names[i] = m.String()
	}
	return "Not in Okta, so not assigned: " + strings.Join(names, ", ") + "; the other subjects are assigned, and these are looked up again every interval"
}

func (p *bindingPass) conflictMessage(conflicts []assign.Conflict) string {
	parts := make([]string, 0, len(conflicts))
	for _, c := range conflicts {
		parts = append(parts, fmt.Sprintf("%s is granted by the older SSOBinding %s with another priority or profile", p.subjectName(c.Ref), c.Winner))
	}
	sort.Strings(parts)
	return strings.Join(parts, "; ") + ": the older binding's values are applied; give both the same values or remove the subject from one"
}

// subjectName names a ref as a person wrote it.
func (p *bindingPass) subjectName(ref assign.Ref) string {
	for _, subjects := range p.resolved {
		for _, s := range subjects {
			if refOf(s) == ref {
				return string(s.Kind) + " " + s.Name
			}
		}
	}
	return ref.String()
}

// recordMade keeps the operator's record of what its bindings assigned on
// the app, in an annotation of the OktaSAMLApp: it survives a restart, a
// lost status and a backup and restore of the objects. It is written before
// the assignments are made (so a crash in between leaves nothing
// unrecorded) and again after; nothing is written when it is unchanged.
func (r *SSOBindingReconciler) recordMade(ctx context.Context, app *ssov1.OktaSAMLApp, made []assign.Ref) error {
	value := formatMade(made)
	if app.Annotations[assignedAnnotation] == value {
		return nil
	}
	base := app.DeepCopy()
	if app.Annotations == nil {
		app.Annotations = map[string]string{}
	}
	if value == "" {
		delete(app.Annotations, assignedAnnotation)
	} else {
		app.Annotations[assignedAnnotation] = value
	}
	if err := r.Patch(ctx, app, client.MergeFrom(base)); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("recording the assignments made on app %s: %w", app.Name, err)
	}
	return nil
}

// assignedAnnotation on an OktaSAMLApp lists the assignments SSOBindings
// made on it (Group:<id>,User:<id>): what Additive bindings may remove.
const assignedAnnotation = "sso.oktaop.io/assigned"

func formatMade(refs []assign.Ref) string {
	parts := make([]string, len(refs))
	for i, r := range refs {
		parts[i] = r.String()
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

func parseMade(value string) []assign.Ref {
	var refs []assign.Ref
	for _, part := range strings.Split(value, ",") {
		kind, id, ok := strings.Cut(part, ":")
		if ok && id != "" && (kind == string(assign.Group) || kind == string(assign.User)) {
			refs = append(refs, assign.Ref{Kind: assign.Kind(kind), ID: id})
		}
	}
	return refs
}

// newAssignments are the assignments the plan makes (not corrects).
func newAssignments(wants []assign.Want) []assign.Ref {
	var refs []assign.Ref
	for _, w := range wants {
		if !w.Update {
			refs = append(refs, w.Ref)
		}
	}
	return refs
}

func union(a, b []assign.Ref) []assign.Ref {
	seen := map[assign.Ref]bool{}
	var out []assign.Ref
	for _, r := range append(append([]assign.Ref{}, a...), b...) {
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	return out
}
