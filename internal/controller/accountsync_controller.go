package controller

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
	"github.com/oktaop/okta-sso-operator/internal/accountsync"
	oktaorg "github.com/oktaop/okta-sso-operator/internal/org"
)

const (
	// syncAppIndex and syncSecretIndex index AccountSyncs by the app and the
	// Secret they reference.
	syncAppIndex    = ".spec.appRef.name/accountsync"
	syncSecretIndex = ".spec.target.scim.authSecretRef.name"
)

// AccountSyncReconciler runs AccountSyncs: on their interval, counted from
// the last run (so a restart does not start one), on a spec change, or at
// once on the trigger annotation.
type AccountSyncReconciler struct {
	client.Client
	Recorder record.EventRecorder
	Orgs     Orgs
	Now      func() time.Time
	// Follow holds what the System Log follower found for each sync
	// between runs; nil follows nothing.
	Follow *FollowQueue
	// APIReader reads a sync uncached before a pass (Client when nil):
	// passes come seconds apart, and one must add to what the last wrote.
	APIReader client.Reader
	// NamespaceLanes bound what one namespace's syncs hold of the workers.
	NamespaceLanes

	mu       sync.Mutex
	compiled map[types.UID]compiledMappings
	// runs remembers each sync's last run: the cached object may not show
	// the status that run wrote yet, and a run must not start twice.
	runs map[types.UID]runRecord
}

// runRecord is a run as this process saw it end.
type runRecord struct {
	generation       int64
	at               time.Time
	trigger          string // the trigger value it handled
	succeeded        bool
	safeguardHolding error
}

type compiledMappings struct {
	generation int64
	mappings   []accountsync.Mapping
}

// SetupWithManager watches AccountSyncs, the apps they sync and the SCIM
// credential Secrets (by metadata).
func (r *AccountSyncReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.Now == nil {
		r.Now = time.Now
	}
	indexer := mgr.GetFieldIndexer()
	if err := indexer.IndexField(context.Background(), &ssov1.AccountSync{}, syncAppIndex,
		func(o client.Object) []string { return []string{string(o.(*ssov1.AccountSync).Spec.AppRef.Name)} }); err != nil {
		return err
	}
	if err := indexer.IndexField(context.Background(), &ssov1.AccountSync{}, syncSecretIndex,
		func(o client.Object) []string {
			return []string{string(o.(*ssov1.AccountSync).Spec.Target.SCIM.AuthSecretRef.Name)}
		}); err != nil {
		return err
	}
	b := ctrl.NewControllerManagedBy(mgr).
		For(&ssov1.AccountSync{}, builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, requestAnnotationChanged))).
		Watches(&ssov1.OktaSAMLApp{}, handler.EnqueueRequestsFromMapFunc(requestsByIndex(r, &ssov1.AccountSyncList{}, syncAppIndex)), builder.WithPredicates(appReadinessChanged)).
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(requestsByIndex(r, &ssov1.AccountSyncList{}, syncSecretIndex)), builder.OnlyMetadata)
	if r.Follow != nil {
		b = b.WatchesRawSource(r.Follow.source())
	}
	b = oktaorg.WatchThroughApps(b, r, r.Orgs.ClusterNamespace(), requestsByIndex(r, &ssov1.AccountSyncList{}, syncAppIndex))
	return r.withLanes(b, func() client.Object { return &ssov1.AccountSync{} }).Named("accountsync").Complete(r)
}

// Reconcile runs the shared reconcile with this kind's steps.
func (r *AccountSyncReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	return r.inLane(req, func() (ctrl.Result, error) {
		return reconcileObject(ctx, lifecycle{client: r.Client, recorder: r.Recorder, now: r.Now}, req, &ssov1.AccountSync{}, r)
	})
}

// finalize: an AccountSync owns nothing outside the cluster (accounts are
// the service provider's and are never deleted), so it is released.
func (r *AccountSyncReconciler) finalize(ctx context.Context, s *ssov1.AccountSync, _ conditions) (ctrl.Result, error) {
	syncSummary.DeletePartialMatch(map[string]string{"namespace": s.Namespace, "name": s.Name})
	r.mu.Lock()
	delete(r.runs, s.UID)
	delete(r.compiled, s.UID)
	r.mu.Unlock()
	if r.Follow != nil {
		r.Follow.forget(client.ObjectKeyFromObject(s))
	}
	return releaseFinalizer(ctx, r.Client, s)
}

// apply runs a sync when one is due and says when the next is.
func (r *AccountSyncReconciler) apply(ctx context.Context, s *ssov1.AccountSync, conds conditions) (time.Duration, error) {
	mappings, err := r.mappings(s)
	if err != nil {
		return 0, err
	}
	if err := r.checkPolicy(ctx, s, mappings); err != nil {
		return 0, err
	}
	rec := r.lastRun(s)
	value, triggered := pendingRequest(s, ssov1.ReconcileRequestAnnotation, s.Status.LastHandledReconcileAt)
	triggered = triggered && value != rec.trigger
	waiting := safeguardWaiting(s, rec)
	if waiting != nil && !triggered {
		return 0, waiting
	}
	due, wait := r.due(s, triggered, rec)
	if !due {
		return wait, r.followIfAsked(ctx, s, conds, mappings)
	}
	// A new trigger while the safeguard holds is the person's "I checked,
	// go on"; any other run is held to the safeguard.
	var next time.Duration
	err = r.withinTimeout(ctx, s, func(ctx context.Context) (err error) {
		next, err = r.run(ctx, s, conds, mappings, waiting != nil && triggered)
		return err
	})
	r.remember(s, value, err)
	if triggered {
		// Handled even when the run failed or tripped the safeguard: after a
		// restart, this value must not read as a new "go on".
		s.Status.LastHandledReconcileAt = value
	}
	return next, err
}

// defaultRunTimeout bounds a run when spec.timeout is not set.
const defaultRunTimeout = 30 * time.Minute

// withinTimeout gives one run or pass spec.timeout: one that outlasts it
// stops where it is, whatever request it was in, and says so in its own
// reason rather than as the request that happened to be cut off.
func (r *AccountSyncReconciler) withinTimeout(ctx context.Context, s *ssov1.AccountSync, do func(context.Context) error) error {
	limit := defaultRunTimeout
	if s.Spec.Timeout != nil {
		limit = s.Spec.Timeout.Duration
	}
	runCtx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	err := do(runCtx)
	if err != nil && errors.Is(runCtx.Err(), context.DeadlineExceeded) && ctx.Err() == nil {
		return &errCondition{reason: ssov1.DeadlineExceededReason, transient: true,
			msg: fmt.Sprintf("The run did not finish within spec.timeout (%s) and stopped where it was; the writes it made stay, and the next run plans from what the target holds. The target is slow or hangs: check it, or raise spec.timeout", limit)}
	}
	return err
}

// checkPolicy asks the tenant policy about the sync on every reconcile, not
// only when a run is due, so a narrowed policy shows at once. An org that
// cannot be reached is the run's to report: nothing reaches Okta without it.
func (r *AccountSyncReconciler) checkPolicy(ctx context.Context, s *ssov1.AccountSync, mappings []accountsync.Mapping) error {
	_, org, err := orgThroughApp(ctx, r, r.Orgs, s.Namespace, s.Spec.AppRef)
	if err != nil {
		return nil
	}
	return syncPolicy(ctx, r, org, s, mappings)
}

// followIfAsked runs an incremental pass when the System Log follower left
// work for the sync; work a pass could not finish goes back for the next.
func (r *AccountSyncReconciler) followIfAsked(ctx context.Context, s *ssov1.AccountSync, conds conditions, mappings []accountsync.Mapping) error {
	if r.Follow == nil {
		return nil
	}
	key := client.ObjectKeyFromObject(s)
	work, ok := r.Follow.take(key)
	if !ok {
		return nil
	}
	err := r.freshFollowing(ctx, s)
	if err == nil {
		err = r.withinTimeout(ctx, s, func(ctx context.Context) error { return r.followPass(ctx, s, conds, mappings, work) })
	}
	if err != nil {
		r.Follow.putBack(key, work)
	}
	return err
}

// freshFollowing puts what the API server holds of the sync's following
// and recent deactivations into s: the cached copy may not show the last
// pass yet, and the status patch must add to it, not undo it.
func (r *AccountSyncReconciler) freshFollowing(ctx context.Context, s *ssov1.AccountSync) error {
	reader := r.APIReader
	if reader == nil {
		reader = r.Client
	}
	fresh := &ssov1.AccountSync{}
	if err := reader.Get(ctx, client.ObjectKeyFromObject(s), fresh); err != nil {
		return err
	}
	s.Status.Following, s.Status.RecentDeactivations = fresh.Status.Following, fresh.Status.RecentDeactivations
	return nil
}

// lastRun is this process's record of the sync's last run of the current
// generation (empty when none).
func (r *AccountSyncReconciler) lastRun(s *ssov1.AccountSync) runRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	if rec, ok := r.runs[s.UID]; ok && rec.generation == s.Generation {
		return rec
	}
	return runRecord{}
}

func (r *AccountSyncReconciler) remember(s *ssov1.AccountSync, trigger string, err error) {
	rec := runRecord{generation: s.Generation, at: r.Now(), trigger: trigger, succeeded: err == nil}
	if held := asCondition(err); held != nil && held.reason == ssov1.SafeguardTrippedReason {
		rec.safeguardHolding = err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.runs == nil {
		r.runs = map[types.UID]runRecord{}
	}
	r.runs[s.UID] = rec
}

// mappings compiles the attribute mappings once per generation; one that
// does not compile is InvalidSpec at once, with the compiler's message.
func (r *AccountSyncReconciler) mappings(s *ssov1.AccountSync) ([]accountsync.Mapping, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c, ok := r.compiled[s.UID]; ok && c.generation == s.Generation {
		return c.mappings, nil
	}
	specs := make([]accountsync.MappingSpec, len(s.Spec.AttributeMappings))
	for i, m := range s.Spec.AttributeMappings {
		specs[i] = accountsync.MappingSpec{Target: m.Target, Expression: m.Expression, CreateOnly: m.Apply == ssov1.MappingApplyCreateOnly}
	}
	compiled, err := accountsync.Compile(specs)
	if err != nil {
		return nil, &errInvalidSpec{"spec." + err.Error()}
	}
	if r.compiled == nil {
		r.compiled = map[types.UID]compiledMappings{}
	}
	r.compiled[s.UID] = compiledMappings{generation: s.Generation, mappings: compiled}
	return compiled, nil
}

// due: a run is due on the trigger, on a spec not yet run, when the last
// run did not succeed (its requeue paces the retries), or an interval after
// the last run.
func (r *AccountSyncReconciler) due(s *ssov1.AccountSync, triggered bool, rec runRecord) (bool, time.Duration) {
	if rec.succeeded && !triggered { // this process ran it; its status may not be in the cache yet
		return r.dueAfter(rec.at, s.ReconcileInterval())
	}
	last := s.Status.LastSyncTime
	if triggered || last == nil || s.Status.ObservedGeneration != s.Generation || !meta.IsStatusConditionTrue(s.Status.Conditions, ssov1.SyncedCondition) {
		return true, 0
	}
	return r.dueAfter(last.Time, s.ReconcileInterval())
}

func (r *AccountSyncReconciler) dueAfter(last time.Time, interval time.Duration) (bool, time.Duration) {
	next := last.Add(interval)
	if wait := next.Sub(r.Now()); wait > 0 {
		return false, wait
	}
	return true, 0
}

// safeguardWaiting: the last run of this generation tripped the safeguard,
// so runs wait for a person (a spec change, or the trigger annotation).
func safeguardWaiting(s *ssov1.AccountSync, rec runRecord) error {
	if rec.safeguardHolding != nil {
		return rec.safeguardHolding
	}
	c := meta.FindStatusCondition(s.Status.Conditions, ssov1.SyncedCondition)
	if c == nil || c.Reason != ssov1.SafeguardTrippedReason || c.ObservedGeneration != s.Generation {
		return nil
	}
	return &errCondition{reason: ssov1.SafeguardTrippedReason, msg: c.Message, stalled: true}
}

func maxDeactivationPercent(s *ssov1.AccountSync) int {
	if p := s.Spec.Safeguard.MaxDeactivationPercent; p != nil {
		return int(*p)
	}
	return 20
}

func describePlan(p accountsync.Plan) string {
	return fmt.Sprintf("%d matched, %d unmatched, %d to create, %d to update, %d to deactivate, %d to reactivate, %d failed",
		len(p.Matched), p.Unmatched, len(p.Create), len(p.Update), len(p.Deactivate), len(p.Reactivate), len(p.Failed))
}
