package controller

import (
	"context"
	"fmt"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/record"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	corev1 "k8s.io/api/core/v1"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
	"github.com/oktaop/okta-sso-operator/internal/okta"
	oktaorg "github.com/oktaop/okta-sso-operator/internal/org"
)

// OrgStatusReconciler answers, on the org objects themselves, "is Okta
// reachable with this credential, and who uses it": Ready from one cheap
// authenticated call (a groups search for Everyone) when the org or its
// credential changes and on the interval; the URL it is known by; the
// auth method; how many namespaces and objects name it.
type OrgStatusReconciler struct {
	client.Client
	Recorder record.EventRecorder
	Orgs     *SecretOrgs
	Now      func() time.Time

	mu sync.Mutex
	// checked is when each client last answered: a reconcile for the usage
	// counts alone costs no Okta call within the interval. A changed spec
	// or credential is a new client, checked at once.
	checked map[okta.API]time.Time
	// Follower, when set, says where the System Log follower stands.
	Follower *LogFollower
}

// SetupWithManager runs one controller per org kind. Each watches its
// credential Secrets and the objects that name it (for the usage counts).
func (r *OrgStatusReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.Now == nil {
		r.Now = time.Now
	}
	cluster := &clusterOrgStatus{r}
	allCluster := handler.EnqueueRequestsFromMapFunc(r.every(&ssov1.ClusterOktaOrgList{}))
	allNamespaced := handler.EnqueueRequestsFromMapFunc(r.every(&ssov1.OktaOrgList{}))
	// Spec changes only: the org's own status writes must not wake it (nor
	// every other org), and an app's status churn says nothing of its org.
	specOnly := builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, requestAnnotationChanged))
	if err := ctrl.NewControllerManagedBy(mgr).
		For(&ssov1.ClusterOktaOrg{}, specOnly).
		Watches(&ssov1.ClusterOktaOrg{}, allCluster, specOnly). // another may name the same org with stricter settings
		Watches(&ssov1.OktaOrg{}, allCluster, specOnly).
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.clusterOrgsReading), builder.OnlyMetadata).
		Watches(&ssov1.OktaSAMLApp{}, handler.EnqueueRequestsFromMapFunc(namedOrg(ssov1.OrgKindCluster, appOrgRef)), specOnly).
		Watches(&ssov1.OktaSAMLIdentityProvider{}, handler.EnqueueRequestsFromMapFunc(namedOrg(ssov1.OrgKindCluster, idpOrgRef)), specOnly).
		Named("clusteroktaorg").
		Complete(reconcileFunc(cluster.reconcile)); err != nil {
		return err
	}
	namespaced := &namespacedOrgStatus{r}
	return ctrl.NewControllerManagedBy(mgr).
		For(&ssov1.OktaOrg{}, specOnly).
		Watches(&ssov1.ClusterOktaOrg{}, allNamespaced, specOnly).
		Watches(&ssov1.OktaOrg{}, allNamespaced, specOnly).
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.namespacedOrgsReading), builder.OnlyMetadata).
		Watches(&ssov1.OktaSAMLApp{}, handler.EnqueueRequestsFromMapFunc(namedOrg(ssov1.OrgKindNamespaced, appOrgRef)), specOnly).
		Watches(&ssov1.OktaSAMLIdentityProvider{}, handler.EnqueueRequestsFromMapFunc(namedOrg(ssov1.OrgKindNamespaced, idpOrgRef)), specOnly).
		Named("oktaorg").
		Complete(reconcileFunc(namespaced.reconcile))
}

// every maps any org object to every object of list's kind: the applied
// limits of each may change with any other's settings. Org objects are few.
func (r *OrgStatusReconciler) every(list client.ObjectList) handler.MapFunc {
	return func(ctx context.Context, _ client.Object) []ctrl.Request {
		found := list.DeepCopyObject().(client.ObjectList)
		if err := r.List(ctx, found); err != nil {
			return nil
		}
		items, _ := meta.ExtractList(found)
		reqs := make([]ctrl.Request, 0, len(items))
		for _, item := range items {
			reqs = append(reqs, ctrl.Request{NamespacedName: client.ObjectKeyFromObject(item.(client.Object))})
		}
		return reqs
	}
}

// reconcileFunc is a reconciler made of a function.
type reconcileFunc func(context.Context, ctrl.Request) (ctrl.Result, error)

func (f reconcileFunc) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	return f(ctx, req)
}

func appOrgRef(o client.Object) ssov1.OrgReference { return o.(*ssov1.OktaSAMLApp).Spec.OrgRef }
func idpOrgRef(o client.Object) ssov1.OrgReference {
	return o.(*ssov1.OktaSAMLIdentityProvider).Spec.OrgRef
}

// namedOrg maps an object to the org object of that kind its orgRef names.
func namedOrg(kind ssov1.OrgKind, ref func(client.Object) ssov1.OrgReference) handler.MapFunc {
	return func(_ context.Context, o client.Object) []ctrl.Request {
		r := ref(o)
		if r.Kind != kind {
			return nil
		}
		req := ctrl.Request{}
		req.Name = string(r.Name)
		if kind == ssov1.OrgKindNamespaced {
			req.Namespace = o.GetNamespace()
		}
		return []ctrl.Request{req}
	}
}

func (r *OrgStatusReconciler) clusterOrgsReading(ctx context.Context, s client.Object) []ctrl.Request {
	if s.GetNamespace() != r.Orgs.ClusterNamespace() {
		return nil
	}
	var orgs ssov1.ClusterOktaOrgList
	if err := r.List(ctx, &orgs); err != nil {
		return nil
	}
	var reqs []ctrl.Request
	for _, o := range orgs.Items {
		if oktaorg.ReadsSecret(o.Spec.OktaOrgSpec, s.GetName()) {
			reqs = append(reqs, ctrl.Request{NamespacedName: client.ObjectKeyFromObject(&o)})
		}
	}
	return reqs
}

func (r *OrgStatusReconciler) namespacedOrgsReading(ctx context.Context, s client.Object) []ctrl.Request {
	var orgs ssov1.OktaOrgList
	if err := r.List(ctx, &orgs, client.InNamespace(s.GetNamespace())); err != nil {
		return nil
	}
	var reqs []ctrl.Request
	for _, o := range orgs.Items {
		if oktaorg.ReadsSecret(o.Spec, s.GetName()) {
			reqs = append(reqs, ctrl.Request{NamespacedName: client.ObjectKeyFromObject(&o)})
		}
	}
	return reqs
}

func (r *OrgStatusReconciler) lifecycle() lifecycle {
	return lifecycle{client: r.Client, recorder: r.Recorder, now: r.Now}
}

// check tries the credential and fills the status every org kind shares.
func (r *OrgStatusReconciler) check(ctx context.Context, org *Org, spec ssov1.OktaOrgSpec, key string, status *ssov1.OktaOrgStatus, conds conditions) (time.Duration, error) {
	if err := r.credentialWorks(ctx, org.Client); err != nil {
		return 0, err
	}
	status.URL = org.URL
	status.AuthMethod = ssov1.AuthMethodAPIToken
	if spec.Credentials.OAuth != nil {
		status.AuthMethod = ssov1.AuthMethodOAuth
	}
	if c, ok := org.Client.(*okta.Client); ok {
		status.DPoP, status.Scopes = c.UsesDPoP(), c.GrantedScopes()
		status.RateLimits = nil
		for _, b := range c.Budget().Headroom() {
			status.RateLimits = append(status.RateLimits, ssov1.BucketStatus{Bucket: b.Bucket, Limit: int32(b.Limit), Remaining: int32(b.Remaining), Reset: metav1.NewTime(b.Reset)})
		}
	}
	usage, err := r.usage(ctx, key)
	if err != nil {
		return 0, err
	}
	status.UsedBy = &usage
	applied, _, err := oktaorg.Applied(ctx, r, org.URL)
	if err != nil {
		return 0, err
	}
	status.AppliedLimits = &ssov1.AppliedOrgLimits{MaxAPICapacityPercent: int32(applied.CapacityPercent), MaxOrgDeactivationPercent: int32(applied.DeactivationPercent)}
	status.SystemLog = nil
	if st, ok := r.followState(org.URL); ok {
		status.SystemLog = &ssov1.SystemLogStatus{LastPollTime: timeOrNil(st.LastPoll), NewestEventTime: timeOrNil(st.Newest), LastError: st.Error}
	}
	if !meta.IsStatusConditionTrue(status.Conditions, ssov1.ReadyCondition) {
		now := metav1.NewTime(r.Now())
		status.LastCheckedTime = &now
	}
	message := fmt.Sprintf("Okta at %s answered with this credential", org.URL)
	if applied != oktaorg.LimitOf(spec) {
		message += fmt.Sprintf("; another org object names the same org with stricter settings, which apply to both: %d%% of each rate-limit bucket, %d%% org safeguard",
			applied.CapacityPercent, applied.DeactivationPercent)
	}
	conds.succeeded(ssov1.ReconcileSucceededReason, message)
	return 24 * time.Hour, nil // the org kinds' interval (10m) is shorter
}

// credentialWorks makes one cheap authenticated call (a groups search),
// unless this client answered one within the check interval.
func (r *OrgStatusReconciler) credentialWorks(ctx context.Context, c okta.API) error {
	r.mu.Lock()
	last, ok := r.checked[c]
	r.mu.Unlock()
	if ok && r.Now().Sub(last) < 9*time.Minute {
		return nil
	}
	if _, err := c.FindGroupByName(ctx, "Everyone"); err != nil && !okta.IsNotFound(err) {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.checked == nil {
		r.checked = map[okta.API]time.Time{}
	}
	r.checked[c] = r.Now()
	return nil
}

func (r *OrgStatusReconciler) followState(url string) (FollowState, bool) {
	if r.Follower == nil {
		return FollowState{}, false
	}
	return r.Follower.State(url)
}

func timeOrNil(t time.Time) *metav1.Time {
	if t.IsZero() {
		return nil
	}
	mt := metav1.NewTime(t)
	return &mt
}

// usage counts the OktaSAMLApps and OktaSAMLIdentityProviders that name the
// org object key, and their namespaces: numbers, never the objects' names.
func (r *OrgStatusReconciler) usage(ctx context.Context, key string) (ssov1.OrgUsage, error) {
	namespaces := map[string]bool{}
	var objects int32
	for _, list := range []client.ObjectList{&ssov1.OktaSAMLAppList{}, &ssov1.OktaSAMLIdentityProviderList{}} {
		if err := r.List(ctx, list, client.MatchingFields{oktaorg.ObjectIndex: key}); err != nil {
			return ssov1.OrgUsage{}, err
		}
		items, _ := meta.ExtractList(list)
		for _, item := range items {
			namespaces[item.(client.Object).GetNamespace()] = true
			objects++
		}
	}
	return ssov1.OrgUsage{Namespaces: int32(len(namespaces)), Objects: objects}, nil
}

type clusterOrgStatus struct{ *OrgStatusReconciler }

func (c *clusterOrgStatus) reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	return reconcileObject(ctx, c.lifecycle(), req, &ssov1.ClusterOktaOrg{}, c)
}

func (c *clusterOrgStatus) apply(ctx context.Context, o *ssov1.ClusterOktaOrg, conds conditions) (time.Duration, error) {
	key := "ClusterOktaOrg/" + o.Name
	org, err := c.Orgs.FromSpec(ctx, "ClusterOktaOrg "+o.Name, c.Orgs.ClusterNamespace(), o.Spec.OktaOrgSpec, key+"@"+oktaorg.SpecVersion(o), false)
	if err != nil {
		return 0, err
	}
	return c.check(ctx, org, o.Spec.OktaOrgSpec, key, &o.Status, conds)
}

func (c *clusterOrgStatus) finalize(ctx context.Context, o *ssov1.ClusterOktaOrg, _ conditions) (ctrl.Result, error) {
	return releaseFinalizer(ctx, c.Client, o)
}

type namespacedOrgStatus struct{ *OrgStatusReconciler }

func (n *namespacedOrgStatus) reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	return reconcileObject(ctx, n.lifecycle(), req, &ssov1.OktaOrg{}, n)
}

func (n *namespacedOrgStatus) apply(ctx context.Context, o *ssov1.OktaOrg, conds conditions) (time.Duration, error) {
	key := o.Namespace + "/OktaOrg/" + o.Name
	org, err := n.Orgs.FromSpec(ctx, "OktaOrg "+o.Namespace+"/"+o.Name, o.Namespace, o.Spec, key+"@"+oktaorg.SpecVersion(o), true)
	if err != nil {
		return 0, err
	}
	return n.check(ctx, org, o.Spec, key, &o.Status, conds)
}

func (n *namespacedOrgStatus) finalize(ctx context.Context, o *ssov1.OktaOrg, _ conditions) (ctrl.Result, error) {
	return releaseFinalizer(ctx, n.Client, o)
}
