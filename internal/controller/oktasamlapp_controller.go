package controller

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
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
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
	"github.com/oktaop/okta-sso-operator/internal/keys"
	"github.com/oktaop/okta-sso-operator/internal/okta"
	"github.com/oktaop/okta-sso-operator/internal/saml"
)

// Keys of the connection Secret.
const (
	keyIDPMetadata  = "idp-metadata.xml"
	keyIDPCert      = "idp.crt"
	keyIDPSSOURL    = "idp-sso-url"
	keyIDPIssuer    = "idp-issuer"
	keyIDPInitiated = "idp-initiated-url"
	keyCompanyID    = "company-id"
	keySPMetadata   = "sp-metadata.xml"

	contentHashAnnotation = "sso.oktaop.io/content-hash"
	// The Secret says what it holds, so a reconcile can trust it even before
	// the status written with it is in the cache.
	publishedKeysAnnotation = "sso.oktaop.io/signing-key-ids"
	renderedGenAnnotation   = "sso.oktaop.io/rendered-generation"
	managedByLabel          = "app.kubernetes.io/managed-by"
	managedByValue          = "okta-sso-operator"
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
}

// SetupWithManager watches OktaSAMLApps, the connection Secrets they own,
// and every Secret they read (org, attribute values, SP key pair).
func (r *OktaSAMLAppReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.Now == nil {
		r.Now = time.Now
	}
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &ssov1.OktaSAMLApp{}, secretRefIndex, secretRefs); err != nil {
		return err
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&ssov1.OktaSAMLApp{}, builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, requestAnnotationsChanged))).
		Owns(&corev1.Secret{}).
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.appsReadingSecret)).
		Named("oktasamlapp").
		Complete(r)
}

// requestAnnotationsChanged passes updates of the annotations people set: a
// reconcile request, a key promotion, an app ID set by hand (adoption). The
// operator's own annotation writes do not trigger another reconcile.
var requestAnnotationsChanged = predicate.Funcs{
	UpdateFunc: func(e event.UpdateEvent) bool {
		oldA, newA := e.ObjectOld.GetAnnotations(), e.ObjectNew.GetAnnotations()
		for _, k := range []string{ssov1.ReconcileRequestAnnotation, ssov1.PromoteSigningKeyAnnotation} {
			if oldA[k] != newA[k] {
				return true
			}
		}
		app, ok := e.ObjectNew.(*ssov1.OktaSAMLApp)
		return ok && oldA[ssov1.AppIDAnnotation] != newA[ssov1.AppIDAnnotation] && newA[ssov1.AppIDAnnotation] != app.Status.AppID
	},
}

// secretRefs lists the Secrets an app reads.
func secretRefs(obj client.Object) []string {
	app := obj.(*ssov1.OktaSAMLApp)
	refs := []string{string(app.Spec.OrgRef.SecretName)}
	for _, st := range app.Spec.SignOn.AttributeStatements {
		if st.ValueFrom != nil {
			refs = append(refs, string(st.ValueFrom.SecretKeyRef.Name))
		}
	}
	if sp := app.Spec.ServiceProvider; sp != nil && sp.SigningCertificate != nil && sp.SigningCertificate.SecretRef != nil {
		refs = append(refs, string(sp.SigningCertificate.SecretRef.Name))
	}
	return refs
}

func (r *OktaSAMLAppReconciler) appsReadingSecret(ctx context.Context, s client.Object) []ctrl.Request {
	var apps ssov1.OktaSAMLAppList
	if err := r.List(ctx, &apps, client.InNamespace(s.GetNamespace()), client.MatchingFields{secretRefIndex: s.GetName()}); err != nil {
		return nil
	}
	reqs := make([]ctrl.Request, 0, len(apps.Items))
	for _, a := range apps.Items {
		reqs = append(reqs, ctrl.Request{NamespacedName: types.NamespacedName{Namespace: a.Namespace, Name: a.Name}})
	}
	return reqs
}

// Reconcile: get the object, keep a copy, patch status once at the end when
// it changed; then deletion, finalizer, suspend; then the steps.
func (r *OktaSAMLAppReconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	app := &ssov1.OktaSAMLApp{}
	if err := r.Get(ctx, req.NamespacedName, app); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	before := app.DeepCopy()
	defer func() {
		if equality.Semantic.DeepEqual(before.Status, app.Status) {
			return
		}
		if err := r.Status().Patch(ctx, app, client.MergeFrom(before)); err != nil && !apierrors.IsNotFound(err) && retErr == nil {
			retErr = err
		}
	}()
	conds := conditions{obj: app, list: &app.Status.Conditions, generation: app.Generation, recorder: r.Recorder}

	if !app.DeletionTimestamp.IsZero() {
		return r.finalize(ctx, app, conds)
	}
	if controllerutil.AddFinalizer(app, ssov1.Finalizer) {
		if err := r.Update(ctx, app); err != nil {
			return ctrl.Result{}, err
		}
	}
	if app.Spec.Suspend {
		conds.set(ssov1.ReadyCondition, metav1.ConditionFalse, ssov1.SuspendedReason, "spec.suspend is true: Okta is neither read nor written")
		return ctrl.Result{}, nil
	}
	requeue, err := r.reconcileApp(ctx, app, conds)
	if err != nil {
		o := classify(err, r.Now(), intervalOf(app))
		conds.failed(o, err.Error())
		log.FromContext(ctx).Info("Reconcile failed", "reason", o.reason, "error", err.Error())
		return o.result, o.err
	}
	app.Status.ObservedGeneration = app.Generation
	if token, ok := ssov1.ReconcileRequestedAt(app.Annotations); ok {
		app.Status.LastHandledReconcileAt = token
	}
	return ctrl.Result{RequeueAfter: jitter(min(requeue, intervalOf(app)), 0.1)}, nil
}

func intervalOf(app *ssov1.OktaSAMLApp) time.Duration {
	if d := app.Spec.Interval.Duration; d > 0 {
		return d
	}
	return 10 * time.Minute
}

// reconcileApp runs the steps in order and returns when to look again.
func (r *OktaSAMLAppReconciler) reconcileApp(ctx context.Context, app *ssov1.OktaSAMLApp, conds conditions) (time.Duration, error) {
	org, err := r.Orgs.Get(ctx, app.Namespace, string(app.Spec.OrgRef.SecretName))
	if err != nil {
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
	oktaApp, changed, err := r.ensureApp(ctx, org.Client, app, desiredApp(app, secretValues, sp.cert))
	if err != nil {
		return 0, err
	}
	published, rotateIn, err := r.rotateKeys(ctx, org.Client, app, oktaApp, existing)
	if err != nil {
		return 0, err
	}
	if err := r.writeConnectionSecret(ctx, org, app, oktaApp, published, sp, existing, changed); err != nil {
		return 0, err
	}
	r.setReady(app, oktaApp, conds)
	return min(rotateIn, spRenew), nil
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

// attributeValues reads the secret attribute values, by attribute name.
func (r *OktaSAMLAppReconciler) attributeValues(ctx context.Context, app *ssov1.OktaSAMLApp) (map[string]string, error) {
	values := map[string]string{}
	for _, st := range app.Spec.SignOn.AttributeStatements {
		if st.ValueFrom == nil {
			continue
		}
		ref := st.ValueFrom.SecretKeyRef
		v, err := secretValues(ctx, r, app.Namespace, string(ref.Name), string(ref.Key))
		if err != nil {
			return nil, fmt.Errorf("attribute %s: %w", st.Name, err)
		}
		values[st.Name] = string(v[0])
	}
	return values, nil
}

func (r *OktaSAMLAppReconciler) connectionSecret(ctx context.Context, app *ssov1.OktaSAMLApp) (*corev1.Secret, error) {
	reader := r.APIReader
	if reader == nil {
		reader = r.Client
	}
	s := &corev1.Secret{}
	err := reader.Get(ctx, client.ObjectKey{Namespace: app.Namespace, Name: app.ConnectionSecretName()}, s)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err == nil && !metav1.IsControlledBy(s, app) {
		return nil, &errInvalidSpec{fmt.Sprintf("Secret %s exists and is not this app's: choose another spec.connectionSecret.name", s.Name)}
	}
	return s, err
}

// spPair is the SP's key pair in PEM, with its parsed certificate.
type spPair struct {
	certPEM, keyPEM []byte
	cert            *x509.Certificate
}

// spKeyPair takes the SP key pair from its Secret, or generates one and
// renews it before expiry, as the policy chain decides. It returns when the
// certificate next needs looking at.
func (r *OktaSAMLAppReconciler) spKeyPair(ctx context.Context, app *ssov1.OktaSAMLApp, existing *corev1.Secret) (spPair, time.Duration, error) {
	never := 365 * 24 * time.Hour
	sp := app.Spec.ServiceProvider
	if sp == nil || sp.SigningCertificate == nil {
		return spPair{}, never, nil
	}
	if ref := sp.SigningCertificate.SecretRef; ref != nil {
		pair, err := secretValues(ctx, r, app.Namespace, string(ref.Name), keys.CertKey, keys.KeyKey)
		if err != nil {
			return spPair{}, 0, err
		}
		certPEM, keyPEM := pair[0], pair[1]
		if reason, bad := keys.NeedsIssuing(keys.CertRequest{Data: map[string][]byte{keys.CertKey: certPEM, keys.KeyKey: keyPEM}, Now: r.Now()},
			keys.SPCertificatePolicies[:4]); bad {
			return spPair{}, 0, &errInvalidSpec{fmt.Sprintf("SP key pair in Secret %s is unusable (%s): it needs a valid tls.crt and the matching tls.key", ref.Name, reason)}
		}
		cert, _ := keys.ParseCertificatePEM(certPEM)
		return spPair{certPEM: certPEM, keyPEM: keyPEM, cert: cert}, never, nil
	}
	gen := sp.SigningCertificate.Generate
	var data map[string][]byte
	if existing != nil {
		data = map[string][]byte{keys.CertKey: existing.Data[keys.CertKey], keys.KeyKey: existing.Data[keys.KeyKey]}
	}
	now := r.Now()
	if reason, issue := keys.NeedsIssuing(keys.CertRequest{Data: data, Now: now, RenewBefore: gen.RenewBefore.Duration}, keys.SPCertificatePolicies); issue {
		certPEM, keyPEM, err := keys.SelfSigned(sp.EntityID, spKeyBits, now, gen.Validity.Duration)
		if err != nil {
			return spPair{}, 0, err
		}
		data = map[string][]byte{keys.CertKey: certPEM, keys.KeyKey: keyPEM}
		r.Recorder.Event(app, corev1.EventTypeNormal, "SPCertificateIssued", "Generated a new SP signing certificate ("+reason+")")
	}
	cert, _ := keys.ParseCertificatePEM(data[keys.CertKey])
	return spPair{certPEM: data[keys.CertKey], keyPEM: data[keys.KeyKey], cert: cert}, cert.NotAfter.Add(-gen.RenewBefore.Duration).Sub(now), nil
}

// appChange says what ensureApp did, for the Secret and the events.
type appChange struct{ created, updated bool }

// ensureApp finds the app (annotation, or the owner note after a crash),
// creates it if there is none, puts back what drifted, and sets ACTIVE or
// INACTIVE. A no-op check is one GET.
func (r *OktaSAMLAppReconciler) ensureApp(ctx context.Context, c okta.API, app *ssov1.OktaSAMLApp, desired *okta.App) (*okta.App, appChange, error) {
	var change appChange
	actual, err := r.findApp(ctx, c, app)
	if err != nil {
		return nil, change, err
	}
	if actual == nil {
		created, err := r.createApp(ctx, c, app, desired)
		return created, appChange{created: true}, err
	}
	if !inSync(desired, actual) {
		handEdit := app.Generation == app.Status.ObservedGeneration
		if actual, err = c.UpdateApp(ctx, applyDesired(actual, desired)); err != nil {
			return nil, change, fmt.Errorf("updating app %s: %w", app.Status.AppID, err)
		}
		change.updated = true
		if handEdit {
			r.Recorder.Event(app, corev1.EventTypeWarning, ssov1.DriftCorrectedReason, "A change made in Okta by hand was put back to the spec")
		}
	}
	if want := wantStatus(app); actual.Status != want {
		if err := setAppStatus(ctx, c, actual.ID, want); err != nil {
			return nil, change, err
		}
		actual.Status = want
	}
	return actual, change, nil
}

func wantStatus(app *ssov1.OktaSAMLApp) string {
	if app.IsActive() {
		return okta.StatusActive
	}
	return okta.StatusInactive
}

func setAppStatus(ctx context.Context, c okta.API, id, status string) error {
	if status == okta.StatusActive {
		return c.ActivateApp(ctx, id)
	}
	return c.DeactivateApp(ctx, id)
}

// findApp reads the app the annotation names. An app deleted by hand is
// reported as none (it will be created again). With no ID but a pending
// create, the app is looked up by its owner note, so a crash between create
// and recording the ID adopts instead of duplicating.
func (r *OktaSAMLAppReconciler) findApp(ctx context.Context, c okta.API, app *ssov1.OktaSAMLApp) (*okta.App, error) {
	if id := app.Annotations[ssov1.AppIDAnnotation]; id != "" {
		actual, err := c.GetApp(ctx, id)
		if okta.IsNotFound(err) {
			r.Recorder.Event(app, corev1.EventTypeWarning, ssov1.RecreatedReason, "App "+id+" was deleted in Okta by hand; creating it again")
			return nil, nil
		}
		return actual, err
	}
	if _, pending := app.Annotations[ssov1.CreatePendingAnnotation]; !pending {
		return nil, nil
	}
	candidates, err := c.ListApps(ctx, okta.AppQuery{Q: app.Spec.Label})
	if err != nil {
		return nil, err
	}
	note := ownerNote(app)
	for i := range candidates {
		if n := candidates[i].Settings.Notes; n != nil && n.Admin != nil && *n.Admin == note {
			if err := r.recordAppID(ctx, app, candidates[i].ID); err != nil {
				return nil, err
			}
			return &candidates[i], nil
		}
	}
	return nil, nil
}

// createApp marks the create as pending, creates, and records the ID.
func (r *OktaSAMLAppReconciler) createApp(ctx context.Context, c okta.API, app *ssov1.OktaSAMLApp, desired *okta.App) (*okta.App, error) {
	if err := r.patchAnnotations(ctx, app, map[string]*string{ssov1.CreatePendingAnnotation: ptrTo(r.Now().UTC().Format(time.RFC3339))}); err != nil {
		return nil, err
	}
	created, err := c.CreateApp(ctx, desired, app.IsActive())
	if err != nil {
		return nil, fmt.Errorf("creating the app in Okta: %w", err)
	}
	if err := r.recordAppID(ctx, app, created.ID); err != nil {
		return nil, err
	}
	r.Recorder.Event(app, corev1.EventTypeNormal, "Created", "Created app "+created.ID+" in Okta")
	return created, nil
}

func (r *OktaSAMLAppReconciler) recordAppID(ctx context.Context, app *ssov1.OktaSAMLApp, id string) error {
	app.Status.AppID = id
	return r.patchAnnotations(ctx, app, map[string]*string{ssov1.AppIDAnnotation: &id, ssov1.CreatePendingAnnotation: nil})
}

// patchAnnotations sets (or, for nil, removes) annotations at once, so the
// marker and the ID survive a crash.
func (r *OktaSAMLAppReconciler) patchAnnotations(ctx context.Context, app *ssov1.OktaSAMLApp, set map[string]*string) error {
	base := app.DeepCopy()
	annotations := app.GetAnnotations()
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
	app.SetAnnotations(annotations)
	status := app.Status
	err := r.Patch(ctx, app, client.MergeFrom(base))
	app.Status = status // the patch answer carries the stored status; keep ours
	return err
}

func ptrTo[T any](v T) *T { return &v }

// publishedKey is a signing certificate handed to SPs.
type publishedKey struct {
	kid  string
	cert *x509.Certificate
}

// rotateKeys runs the staged rotation of the IdP signing key and returns
// the certificates to publish, active first, and when to look again. When
// one key is published, it is the active one and nothing is due, it makes
// no call.
func (r *OktaSAMLAppReconciler) rotateKeys(ctx context.Context, c okta.API, app *ssov1.OktaSAMLApp, oktaApp *okta.App, existing *corev1.Secret) ([]publishedKey, time.Duration, error) {
	activeKid := ""
	if oktaApp.Credentials.Signing != nil {
		activeKid = oktaApp.Credentials.Signing.Kid
	}
	if published, recheck, ok := r.steadyKeys(app, activeKid, existing); ok {
		return published, recheck, nil
	}
	all, err := c.ListAppKeys(ctx, oktaApp.ID)
	if err != nil {
		return nil, 0, err
	}
	byKid := map[string]okta.JWK{}
	for _, k := range all {
		byKid[k.Kid] = k
	}
	activeKey, ok := byKid[activeKid]
	if !ok || activeKid == "" {
		return nil, 0, fmt.Errorf("okta names signing key %q for app %s but does not list it", activeKid, oktaApp.ID)
	}
	active := &keys.SigningKey{Kid: activeKey.Kid, Created: activeKey.Created, ExpiresAt: activeKey.ExpiresAt}
	// Where the rotation stands comes from Okta and the Secret, not from a
	// status the cache may not have caught up with: a key newer than the
	// active one is its successor (even one generated just before a crash,
	// so none is generated twice); a published key older than it is the
	// previous one, not yet retired.
	next, previous := successorAndPrevious(all, *active, existing)
	st := &ssov1.SigningKeyStatus{ActiveKeyID: activeKid, RotationPhase: ssov1.RotationPhaseStable}
	switch {
	case next != nil:
		st.NextKeyID, st.RotationPhase = next.Kid, ssov1.RotationPhaseStaged
	case previous != nil:
		st.PreviousKeyID, st.RotationPhase = previous.Kid, ssov1.RotationPhasePromoted
	}
	spec := app.Spec.SigningKey
	_, promote := app.Annotations[ssov1.PromoteSigningKeyAnnotation]
	step, recheck := keys.NextStep(keys.Rotation{Now: r.Now(), Active: *active, Next: next, Previous: previous,
		RotateBefore: spec.RotateBefore.Duration, PromoteAfter: spec.PromoteAfter.Duration, PromoteRequested: promote})
	switch step {
	case keys.StepGenerate:
		years := int(spec.ValidityYears)
		if years == 0 {
			years = 10
		}
		next, err := c.GenerateAppKey(ctx, oktaApp.ID, years)
		if err != nil {
			return nil, 0, fmt.Errorf("generating the next signing key: %w", err)
		}
		byKid[next.Kid] = *next
		st.NextKeyID, st.RotationPhase = next.Kid, ssov1.RotationPhaseStaged
		r.Recorder.Event(app, corev1.EventTypeNormal, ssov1.KeyRotationPendingReason, "Published signing key "+next.Kid+" beside the active one")
		recheck = spec.PromoteAfter.Duration
	case keys.StepPromote:
		promoted := *oktaApp
		promoted.Credentials.Signing = &okta.AppSigning{Kid: st.NextKeyID}
		updated, err := c.UpdateApp(ctx, &promoted)
		if err != nil {
			return nil, 0, fmt.Errorf("promoting signing key %s: %w", st.NextKeyID, err)
		}
		*oktaApp = *updated
		st.PreviousKeyID, st.ActiveKeyID, st.NextKeyID, st.RotationPhase = st.ActiveKeyID, st.NextKeyID, "", ssov1.RotationPhasePromoted
		if promote { // one-shot: a later rotation waits for promoteAfter again
			if err := r.patchAnnotations(ctx, app, map[string]*string{ssov1.PromoteSigningKeyAnnotation: nil}); err != nil {
				return nil, 0, err
			}
		}
		r.Recorder.Event(app, corev1.EventTypeNormal, "SigningKeyPromoted", "Okta now signs with key "+st.ActiveKeyID)
		recheck = intervalOf(app)
	case keys.StepRetire:
		r.Recorder.Event(app, corev1.EventTypeNormal, "SigningKeyRetired", "Stopped publishing key "+st.PreviousKeyID)
		st.PreviousKeyID, st.RotationPhase = "", ssov1.RotationPhaseStable
	}
	published := []publishedKey{}
	for _, kid := range []string{st.ActiveKeyID, st.NextKeyID, st.PreviousKeyID} {
		if k, ok := byKid[kid]; ok && kid != "" {
			cert, err := certOf(k)
			if err != nil {
				return nil, 0, err
			}
			published = append(published, publishedKey{kid: kid, cert: cert})
		}
	}
	notAfter := metav1.NewTime(byKid[st.ActiveKeyID].ExpiresAt)
	st.NotAfter = &notAfter
	app.Status.SigningKey = st
	return published, recheck, nil
}

// steadyKeys answers from status and the Secret, without asking Okta, when
// the active key is the known one, no rotation is under way and none is due.
func (r *OktaSAMLAppReconciler) steadyKeys(app *ssov1.OktaSAMLApp, activeKid string, existing *corev1.Secret) ([]publishedKey, time.Duration, bool) {
	// One published key that is the active one: no rotation under way.
	if existing == nil || activeKid == "" || existing.Annotations[publishedKeysAnnotation] != activeKid {
		return nil, 0, false
	}
	if _, promote := app.Annotations[ssov1.PromoteSigningKeyAnnotation]; promote {
		return nil, 0, false
	}
	cert, err := keys.ParseCertificatePEM(existing.Data[keyIDPCert])
	if err != nil {
		return nil, 0, false
	}
	step, recheck := keys.NextStep(keys.Rotation{Now: r.Now(), Active: keys.SigningKey{Kid: activeKid, ExpiresAt: cert.NotAfter},
		RotateBefore: app.Spec.SigningKey.RotateBefore.Duration, PromoteAfter: app.Spec.SigningKey.PromoteAfter.Duration})
	if step != keys.StepNone {
		return nil, 0, false
	}
	notAfter := metav1.NewTime(cert.NotAfter)
	app.Status.SigningKey = &ssov1.SigningKeyStatus{ActiveKeyID: activeKid, NotAfter: &notAfter, RotationPhase: ssov1.RotationPhaseStable}
	return []publishedKey{{kid: activeKid, cert: cert}}, recheck, true
}

// successorAndPrevious finds, among the app's keys, the newest key created
// after the active one, and the published key created before it.
func successorAndPrevious(all []okta.JWK, active keys.SigningKey, existing *corev1.Secret) (next, previous *keys.SigningKey) {
	published := map[string]bool{}
	if existing != nil {
		for _, kid := range strings.Split(existing.Annotations[publishedKeysAnnotation], ",") {
			published[kid] = true
		}
	}
	for _, k := range all {
		key := &keys.SigningKey{Kid: k.Kid, Created: k.Created, ExpiresAt: k.ExpiresAt}
		switch {
		case k.Kid == active.Kid:
		case k.Created.After(active.Created) && (next == nil || k.Created.After(next.Created)):
			next = key
		case k.Created.Before(active.Created) && published[k.Kid]:
			previous = key
		}
	}
	return next, previous
}

func publishedKids(published []publishedKey) []string {
	kids := make([]string, len(published))
	for i, p := range published {
		kids[i] = p.kid
	}
	return kids
}

func certOf(k okta.JWK) (*x509.Certificate, error) {
	if len(k.X5c) == 0 {
		return nil, fmt.Errorf("signing key %s has no certificate", k.Kid)
	}
	der, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(k.X5c[0], "\n", ""))
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

// writeConnectionSecret hands the IdP's and SP's details to the workload.
// It writes only when the content changed, so a no-op check writes nothing.
func (r *OktaSAMLAppReconciler) writeConnectionSecret(ctx context.Context, org *Org, app *ssov1.OktaSAMLApp, oktaApp *okta.App,
	published []publishedKey, sp spPair, existing *corev1.Secret, change appChange) error {
	data, err := r.idpData(ctx, org, app, oktaApp, published, existing, change)
	if err != nil {
		return err
	}
	spMetadata, err := renderSPMetadata(app, sp.cert)
	if err != nil {
		return &errInvalidSpec{err.Error()}
	}
	data[keySPMetadata] = spMetadata
	if sp.cert != nil {
		data[keys.CertKey], data[keys.KeyKey] = sp.certPEM, sp.keyPEM
	}

	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: app.ConnectionSecretName(), Namespace: app.Namespace}}
	op, err := controllerutil.CreateOrPatch(ctx, r.Client, secret, func() error {
		secret.Labels = mergeMaps(secret.Labels, app.Spec.ConnectionSecret.Labels, map[string]string{managedByLabel: managedByValue})
		secret.Annotations = mergeMaps(secret.Annotations, app.Spec.ConnectionSecret.Annotations, map[string]string{
			contentHashAnnotation:   contentHash(data),
			publishedKeysAnnotation: strings.Join(publishedKids(published), ","),
			renderedGenAnnotation:   fmt.Sprint(app.Generation),
		})
		secret.Type = corev1.SecretTypeOpaque
		secret.Data = data
		return controllerutil.SetControllerReference(app, secret, r.Scheme())
	})
	if err != nil {
		return fmt.Errorf("writing Secret %s: %w", secret.Name, err)
	}
	if op != controllerutil.OperationResultNone {
		log.FromContext(ctx).Info("Wrote connection Secret", "secret", secret.Name, "operation", op)
	}
	r.setStatus(app, oktaApp, org, data, published, sp)
	return nil
}

// idpData builds the IdP part of the Secret. Okta's metadata is fetched only
// when something it depends on changed (the app, its keys, the spec) or the
// Secret lacks it; otherwise the Secret's copy is current.
func (r *OktaSAMLAppReconciler) idpData(ctx context.Context, org *Org, app *ssov1.OktaSAMLApp, oktaApp *okta.App,
	published []publishedKey, existing *corev1.Secret, change appChange) (map[string][]byte, error) {
	data := map[string][]byte{}
	kids := publishedKids(published)
	fresh := existing != nil && existing.Data[keyIDPMetadata] != nil && !change.created && !change.updated &&
		existing.Annotations[renderedGenAnnotation] == fmt.Sprint(app.Generation) &&
		existing.Annotations[publishedKeysAnnotation] == strings.Join(kids, ",")
	if fresh {
		for _, k := range []string{keyIDPMetadata, keyIDPCert, keyIDPSSOURL, keyIDPIssuer, keyIDPInitiated, keyCompanyID} {
			data[k] = existing.Data[k]
		}
		return data, nil
	}
	metadata, err := org.Client.GetSAMLMetadata(ctx, oktaApp.ID, published[0].kid)
	if err != nil {
		return nil, fmt.Errorf("reading the app's IdP metadata: %w", err)
	}
	extra := make([]*x509.Certificate, 0, len(published)-1)
	for _, p := range published[1:] {
		extra = append(extra, p.cert)
	}
	if metadata, err = saml.WithSigningCertificates(metadata, extra...); err != nil {
		return nil, err
	}
	idp, err := saml.ParseIDPMetadata(metadata)
	if err != nil {
		return nil, err
	}
	var certs []byte
	for _, p := range published {
		certs = append(certs, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.cert.Raw})...)
	}
	data[keyIDPMetadata], data[keyIDPCert] = metadata, certs
	data[keyIDPSSOURL], data[keyIDPIssuer] = []byte(idp.SSOURL), []byte(idp.EntityID)
	data[keyCompanyID] = []byte(org.CompanyID)
	if len(oktaApp.Links.AppLinks) > 0 {
		data[keyIDPInitiated] = []byte(oktaApp.Links.AppLinks[0].Href)
	} else if existing != nil {
		data[keyIDPInitiated] = existing.Data[keyIDPInitiated] // a replace answer may omit links
	}
	return data, nil
}

func renderSPMetadata(app *ssov1.OktaSAMLApp, cert *x509.Certificate) ([]byte, error) {
	sp := app.Spec.ServiceProvider
	if sp == nil || sp.ACSURL == "" {
		return []byte{}, nil // a catalog app: the SP is the catalog's
	}
	acs := []saml.ACS{{URL: string(sp.ACSURL)}}
	for _, e := range sp.AdditionalACSURLs {
		acs = append(acs, saml.ACS{URL: string(e.URL), Index: int(e.Index)})
	}
	return saml.RenderSPMetadata(saml.SP{
		EntityID: sp.EntityID, ACS: acs, SLOURL: string(sp.SingleLogoutURL),
		NameIDFormat: saml.NameIDFormats[orDefault(string(app.Spec.SignOn.NameIDFormat), "Unspecified")],
		Certificate:  cert, AuthnRequestsSigned: cert != nil && app.Spec.SignOn.RequestSignatureRequired,
		WantAssertionsSigned: boolOr(app.Spec.SignOn.AssertionSigned, true),
	})
}

func (r *OktaSAMLAppReconciler) setStatus(app *ssov1.OktaSAMLApp, oktaApp *okta.App, org *Org, data map[string][]byte, published []publishedKey, sp spPair) {
	active := published[0].cert
	fingerprint := sha256.Sum256(active.Raw)
	notAfter := metav1.NewTime(active.NotAfter)
	kids := publishedKids(published)
	app.Status.AppID = oktaApp.ID
	app.Status.ConnectionSecretName = app.ConnectionSecretName()
	app.Status.IDP = &ssov1.IDPStatus{
		Issuer: string(data[keyIDPIssuer]), SSOURL: string(data[keyIDPSSOURL]),
		MetadataURL:                  org.URL + "/api/v1/apps/" + oktaApp.ID + "/sso/saml/metadata",
		CertificateFingerprintSHA256: hex.EncodeToString(fingerprint[:]), CertificateNotAfter: &notAfter,
		KeyID: strings.Join(kids, ","),
	}
	spSum := sha256.Sum256(data[keySPMetadata])
	app.Status.SP = &ssov1.SPStatus{MetadataSHA256: hex.EncodeToString(spSum[:])}
	if sp.cert != nil {
		t := metav1.NewTime(sp.cert.NotAfter)
		app.Status.SP.CertificateNotAfter = &t
	}
}

// mergeMaps returns base with each overlay laid over it in turn.
func mergeMaps(base map[string]string, overlays ...map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range base {
		out[k] = v
	}
	for _, o := range overlays {
		for k, v := range o {
			out[k] = v
		}
	}
	return out
}

// contentHash fingerprints the Secret's data so workloads can roll on change.
func contentHash(data map[string][]byte) string {
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		fmt.Fprintf(h, "%s=%d:", k, len(data[k]))
		h.Write(data[k])
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// finalize deletes the app in Okta under deletionPolicy Delete (deactivate,
// then delete) and releases the object.
func (r *OktaSAMLAppReconciler) finalize(ctx context.Context, app *ssov1.OktaSAMLApp, conds conditions) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(app, ssov1.Finalizer) {
		return ctrl.Result{}, nil
	}
	id := app.Annotations[ssov1.AppIDAnnotation]
	if app.Spec.DeletionPolicy != ssov1.DeletionPolicyOrphan && id != "" && !app.Spec.Suspend {
		org, err := r.Orgs.Get(ctx, app.Namespace, string(app.Spec.OrgRef.SecretName))
		if isSecretError(err) {
			// The org Secret went first (a whole namespace being deleted):
			// Okta cannot be reached, and waiting would hang the namespace.
			r.Recorder.Event(app, corev1.EventTypeWarning, "LeftInOkta",
				"App "+id+" was not deleted in Okta because the org Secret is gone: "+err.Error())
			controllerutil.RemoveFinalizer(app, ssov1.Finalizer)
			return ctrl.Result{}, r.Update(ctx, app)
		}
		if err == nil {
			err = deleteApp(ctx, org.Client, id)
		}
		if err != nil {
			o := classify(err, r.Now(), intervalOf(app))
			conds.failed(o, "deleting the app in Okta: "+err.Error())
			return o.result, o.err
		}
		r.Recorder.Event(app, corev1.EventTypeNormal, ssov1.DeletingReason, "Deactivated and deleted app "+id+" in Okta")
	}
	controllerutil.RemoveFinalizer(app, ssov1.Finalizer)
	return ctrl.Result{}, r.Update(ctx, app)
}

func deleteApp(ctx context.Context, c okta.API, id string) error {
	if err := c.DeactivateApp(ctx, id); err != nil && !okta.IsNotFound(err) {
		return err
	}
	return c.DeleteApp(ctx, id)
}
