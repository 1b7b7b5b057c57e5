package controller

import (
	"cmp"
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/record"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
	"github.com/oktaop/okta-sso-operator/internal/okta"
	oktaorg "github.com/oktaop/okta-sso-operator/internal/org"
)

const (
	// secretRefIndex indexes apps by the Secrets they read.
	secretRefIndex = ".spec.secretRefs"
	spKeyBits      = 2048
)

// OktaSAMLAppReconciler keeps an OktaSAMLApp's app in Okta, its keys and
// its connection Secret.
type OktaSAMLAppReconciler struct {
	client.Client
	// APIReader reads the connection Secret uncached: it records what is
	// published, and a stale copy could start a rotation step twice.
	APIReader client.Reader
	Recorder  record.EventRecorder
	Orgs      Orgs
	// Now is the clock of rotation and certificate decisions.
	Now func() time.Time
	// Concurrency is how many apps of one org are reconciled at once (1
	// when unset). Each reconcile has at most one Okta request in flight,
	// and the org's budget paces them all, so more only fill the rate
	// limit's windows sooner.
	Concurrency int
	// Workers is how many apps are reconciled at once, all orgs together
	// (Concurrency when lower): each org has its own lane of Concurrency
	// of them, so a slow org never holds up another.
	Workers int
	// Cluster names this cluster in the owner notes the operator writes on
	// apps, so that an app another cluster's operator manages is never
	// taken for this one's.
	Cluster *ClusterID
	// Drift, when set, wakes objects changed in Okta by someone else and
	// makes the periodic read the org's safety sweep while its log is
	// followed.
	Drift *DriftWatch

	lanes *lanes
}

// SetupWithManager watches OktaSAMLApps, the connection Secrets they own,
// and every Secret they read (org, attribute values, SP key pair). Secrets
// are watched by their metadata only (see SecretCacheOptions).
func (r *OktaSAMLAppReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.Now == nil {
		r.Now = time.Now
	}
	r.lanes = newLanes(r.Concurrency, func() client.Object { return &ssov1.OktaSAMLApp{} })
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &ssov1.OktaSAMLApp{}, secretRefIndex, secretRefs); err != nil {
		return err
	}
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &ssov1.OktaSAMLApp{}, appIdPIndex, appIdPRef); err != nil {
		return err
	}
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &ssov1.OktaSAMLApp{}, appIDIndex, annotatedAppID); err != nil {
		return err
	}
	if err := oktaorg.IndexByObject(mgr, &ssov1.OktaSAMLApp{}, appOrgs); err != nil {
		return err
	}
	b := ctrl.NewControllerManagedBy(mgr).
		For(&ssov1.OktaSAMLApp{}, builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, requestAnnotationChanged, appIDSetByHand))).
		Owns(&corev1.Secret{}, builder.OnlyMetadata).
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(requestsByIndex(r, &ssov1.OktaSAMLAppList{}, secretRefIndex)), builder.OnlyMetadata).
		Watches(&ssov1.OktaSAMLApp{}, handler.EnqueueRequestsFromMapFunc(r.appsClaimingTheSameApp), builder.WithPredicates(deleted)).
		Watches(&ssov1.OktaSAMLIdentityProvider{}, handler.EnqueueRequestsFromMapFunc(requestsByIndex(r, &ssov1.OktaSAMLAppList{}, appIdPIndex)), builder.WithPredicates(idpPublished)).
		WatchesRawSource(r.lanes.source())
	if r.Drift != nil {
		b = b.WatchesRawSource(r.Drift.apps.source())
	}
	return oktaorg.Watch(b, r, &ssov1.OktaSAMLAppList{}, r.Orgs.ClusterNamespace()).
		Named("oktasamlapp").
		WithOptions(controller.Options{MaxConcurrentReconciles: max(r.Workers, r.Concurrency, 1)}).
		Complete(r)
}

// appIDSetByHand passes an app ID or an adoption request a person set; the
// operator's own write of the ID it created does not trigger another
// reconcile.
var appIDSetByHand = ownershipAnnotationsChanged(ssov1.AppIDAnnotation, func(o client.Object) string { return o.(*ssov1.OktaSAMLApp).Status.AppID })

// ownershipAnnotationsChanged passes a change a person made to an object's
// ID annotation (one status does not hold yet) or to its adoption request:
// a refused adoption is stalled and waits for exactly that.
func ownershipAnnotationsChanged(idAnnotation string, owned func(client.Object) string) predicate.Funcs {
	return predicate.Funcs{
		UpdateFunc: func(e event.UpdateEvent) bool {
			before, after := e.ObjectOld.GetAnnotations(), e.ObjectNew.GetAnnotations()
			id := after[idAnnotation]
			return before[idAnnotation] != id && id != owned(e.ObjectNew) || before[ssov1.AdoptAnnotation] != after[ssov1.AdoptAnnotation]
		},
	}
}

// deleted passes only deletions.
var deleted = predicate.Funcs{
	CreateFunc:  func(event.CreateEvent) bool { return false },
	UpdateFunc:  func(event.UpdateEvent) bool { return false },
	GenericFunc: func(event.GenericEvent) bool { return false },
}

// appsClaimingTheSameApp wakes the objects whose adoption of an app was
// refused because the deleted one managed it.
func (r *OktaSAMLAppReconciler) appsClaimingTheSameApp(ctx context.Context, o client.Object) []ctrl.Request {
	id := o.GetAnnotations()[ssov1.AppIDAnnotation]
	if id == "" {
		return nil
	}
	others, err := r.othersNaming(ctx, id, o.GetUID())
	if err != nil {
		return nil
	}
	out := make([]ctrl.Request, 0, len(others))
	for i := range others {
		out = append(out, ctrl.Request{NamespacedName: client.ObjectKeyFromObject(&others[i])})
	}
	return out
}

// secretRefs lists the Secrets an app reads.
func secretRefs(obj client.Object) []string {
	app := obj.(*ssov1.OktaSAMLApp)
	var refs []string
	if app.Spec.OrgRef.SecretName != "" {
		refs = append(refs, string(app.Spec.OrgRef.SecretName))
	}
	for _, st := range app.Spec.SignOn.AttributeStatements {
		if st.ValueFrom != nil {
			refs = append(refs, string(st.ValueFrom.SecretKeyRef.Name))
		}
	}
	if sp := app.Spec.ServiceProvider; sp != nil && sp.SigningCertificate != nil && sp.SigningCertificate.SecretRef != nil {
		refs = append(refs, string(sp.SigningCertificate.SecretRef.Name))
	}
	if p := app.Spec.Provisioning; p != nil && p.Connection.TokenSecretRef != nil {
		refs = append(refs, string(p.Connection.TokenSecretRef.Name))
	}
	return refs
}

// appOrgs are the org objects an app reads: its own, and the hub its
// provisioning connection names (whose rotated token is set again).
func appOrgs(o client.Object) []ssov1.OrgReference {
	app := o.(*ssov1.OktaSAMLApp)
	refs := []ssov1.OrgReference{app.Spec.OrgRef}
	if p := app.Spec.Provisioning; p != nil && p.Connection.OrgRef != nil {
		refs = append(refs, *p.Connection.OrgRef)
	}
	return refs
}

// Reconcile runs the shared reconcile with this kind's steps, in the lane
// of the app's org (its org Secret).
func (r *OktaSAMLAppReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	app := &ssov1.OktaSAMLApp{}
	if err := r.Get(ctx, req.NamespacedName, app); err == nil && r.lanes != nil {
		release, admitted := r.lanes.enter(oktaorg.Key(app.Namespace, app.Spec.OrgRef), req.NamespacedName)
		if !admitted {
			return ctrl.Result{}, nil // put back on the queue when the org's lane has room
		}
		defer release()
	}
	return reconcileObject(ctx, r.lifecycle(), req, &ssov1.OktaSAMLApp{}, r)
}

func (r *OktaSAMLAppReconciler) lifecycle() lifecycle {
	return lifecycle{client: r.Client, recorder: r.Recorder, now: r.Now}
}

// apply runs the steps in order and returns when to look again.
func (r *OktaSAMLAppReconciler) apply(ctx context.Context, app *ssov1.OktaSAMLApp, conds conditions) (time.Duration, error) {
	if err := r.Cluster.Resolve(ctx); err != nil {
		return 0, err
	}
	oktaorg.WarnDeprecated(r.Recorder, app, app.Spec.OrgRef)
	org, err := r.Orgs.Get(ctx, app.Namespace, app.Spec.OrgRef)
	if err != nil {
		return 0, err
	}
	if err := appPolicy(ctx, r, org, app); err != nil {
		return 0, err
	}
	ctx = org.Scope(ctx, app.Namespace)
	if err := createThrottled(ctx, org, app); err != nil {
		return 0, err
	}
	secretValues, err := r.attributeValues(ctx, app)
	if err != nil {
		return 0, err
	}
	existing, err := r.connectionSecret(ctx, app)
	if err != nil {
		return 0, err
	}
	sp, spRenew, err := r.spKeyPair(ctx, app, existing)
	if err != nil {
		return 0, err
	}
	hub, waitingForHub := r.hubSettings(ctx, org.Client, app)
	if hub == nil && waitingForHub != nil {
		return 0, waitingForHub
	}
	oktaApp, changed, err := r.ensureApp(ctx, org.Client, app, desiredApp(app, secretValues, sp.cert, hub), existing)
	if err != nil {
		return 0, err
	}
	if err := r.ensureAuthenticationPolicy(ctx, org.Client, app, oktaApp); err != nil {
		return 0, err
	}
	published, rotateIn, err := r.rotateKeys(ctx, org.Client, app, oktaApp, existing, changed)
	if err != nil {
		return 0, err
	}
	if err := r.writeConnectionSecret(ctx, org, app, oktaApp, published, sp, existing, changed); err != nil {
		return 0, err
	}
	if waitingForHub != nil { // created and published, so the hub can trust it; not usable yet
		return 0, waitingForHub
	}
	if err := r.ensureProvisioning(ctx, org.Client, app, oktaApp); err != nil {
		return 0, err
	}
	r.setReady(app, oktaApp, conds)
	return min(rotateIn, spRenew, r.Drift.recheckAfter(org, string(app.UID), app.ReconcileInterval(), r.Now())), nil
}

func (r *OktaSAMLAppReconciler) setReady(app *ssov1.OktaSAMLApp, oktaApp *okta.App, conds conditions) {
	switch {
	case app.Status.SigningKey != nil && app.Status.SigningKey.RotationPhase == ssov1.RotationPhaseStaged:
		conds.succeeded(ssov1.KeyRotationPendingReason, fmt.Sprintf("Signing key %s is published beside the active one and waits for promotion", app.Status.SigningKey.NextKeyID))
	case oktaApp.Status == okta.StatusInactive:
		conds.succeeded(ssov1.InactiveReason, "The app is INACTIVE in Okta, as spec.active asks: nobody can sign in")
	default:
		conds.succeeded(ssov1.ReconcileSucceededReason, "The app is ACTIVE in Okta and its connection Secret is current")
	}
}

// attributeValues reads the secret attribute values, by attribute name; an
// Okta org's credential is never put into assertions.
func (r *OktaSAMLAppReconciler) attributeValues(ctx context.Context, app *ssov1.OktaSAMLApp) (map[string]string, error) {
	values := map[string]string{}
	for _, st := range app.Spec.SignOn.AttributeStatements {
		if st.ValueFrom == nil {
			continue
		}
		v, err := oktaorg.OutboundSecret(ctx, r, r.Orgs, app.Namespace, st.ValueFrom.SecretKeyRef, "attribute "+st.Name)
		if err != nil {
			return nil, err
		}
		values[st.Name] = string(v)
	}
	return values, nil
}

// finalize deletes the app this object owns under deletionPolicy Delete
// (deactivate, then delete) and releases one it adopted, or any under
// Orphan: left in Okta with the owner note removed. An app it never owned
// (a refused adoption, a typo in the annotation) is never touched.
func (r *OktaSAMLAppReconciler) finalize(ctx context.Context, app *ssov1.OktaSAMLApp, conds conditions) (ctrl.Result, error) {
	if err := r.Cluster.Resolve(ctx); err != nil {
		return r.lifecycle().failed(ctx, app, conds, err, "")
	}
	annotated := app.Annotations[ssov1.AppIDAnnotation]
	return finalizeInOkta(ctx, r.lifecycle(), r.Orgs, conds, oktaDeletion{
		obj: app, orgRef: app.Spec.OrgRef, what: "app", id: cmp.Or(app.Status.AppID, annotated),
		untouched: app.Spec.Suspend || (app.Status.AppID == "" && annotated == ""),
		finish:    func(ctx context.Context, org *Org) (finalized, error) { return r.finishApp(ctx, org, app) },
	})
}

// finishApp deletes or releases the owned app. An ID the status does not
// hold yet (a crash between recording it on the object and in status) is
// owned only if the app's owner note names this object.
func (r *OktaSAMLAppReconciler) finishApp(ctx context.Context, org *Org, app *ssov1.OktaSAMLApp) (finalized, error) {
	c := org.Client
	id, origin := app.Status.AppID, cmp.Or(app.Status.Origin, ssov1.OriginCreated)
	if id == "" {
		id = app.Annotations[ssov1.AppIDAnnotation]
		actual, err := c.GetApp(ctx, id)
		if okta.IsNotFound(err) {
			return finalized{}, nil
		}
		if err != nil {
			return finalized{}, err
		}
		noted, _, ok := parseOwner(adminNote(actual))
		if !ok || !sameObject(noted, r.owner(app, "")) {
			return finalized{"LeftInOkta", "App " + id + " was never this object's; it was left untouched"}, nil
		}
		origin = noted.origin
	}
	adopt, _ := readAdoptRequest(app.Annotations) // an unreadable request keeps the app
	if keepOnDelete(origin, org.Tenant.DeletionPolicy(app.Spec.DeletionPolicy), adopt) {
		return r.releaseApp(ctx, c, app, id)
	}
	if err := deleteApp(ctx, c, id); err != nil {
		return finalized{}, err
	}
	return finalized{ssov1.DeletingReason, "Deactivated and deleted app " + id + " in Okta"}, nil
}

// releaseApp leaves the app in Okta and takes this object's owner line out
// of its admin note, so that it is free to be adopted again.
func (r *OktaSAMLAppReconciler) releaseApp(ctx context.Context, c okta.API, app *ssov1.OktaSAMLApp, id string) (finalized, error) {
	actual, err := c.GetApp(ctx, id)
	if okta.IsNotFound(err) {
		return finalized{}, nil
	}
	if err != nil {
		return finalized{}, err
	}
	if noted, rest, ok := parseOwner(adminNote(actual)); ok && sameObject(noted, r.owner(app, "")) {
		actual.Settings.Notes.Admin = nil
		if rest != "" {
			actual.Settings.Notes.Admin = &rest
		}
		if _, err := c.UpdateApp(ctx, actual); err != nil {
			return finalized{}, fmt.Errorf("removing the owner note of app %s: %w", id, err)
		}
	}
	why := "deletionPolicy is Orphan"
	if app.Spec.DeletionPolicy != ssov1.DeletionPolicyOrphan {
		why = fmt.Sprintf("it was adopted, and the %s annotation does not say Delete", ssov1.AdoptAnnotation)
	}
	return finalized{ssov1.ReleasedReason, fmt.Sprintf("Left app %s in Okta (%s); its owner note was removed", id, why)}, nil
}
