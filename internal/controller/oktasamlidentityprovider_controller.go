package controller

import (
	"cmp"
	"context"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/record"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
	"github.com/oktaop/okta-sso-operator/internal/okta"
	oktaorg "github.com/oktaop/okta-sso-operator/internal/org"
)

// idpAppsIndex indexes OktaSAMLIdentityProviders by the apps they read: the
// spoke app they trust and the hub apps they share.
const idpAppsIndex = ".spec.apps"

// OktaSAMLIdentityProviderReconciler keeps a hub org's inbound SAML IdP
// trusting its spoke: the spoke's issuer, SSO URL and signing certificate,
// read from the spoke's Org2Org app (its connection Secret) or the spec,
// and publishes the hub's ACS URL and audience for that app.
type OktaSAMLIdentityProviderReconciler struct {
	client.Client
	// APIReader reads the spoke app's connection Secret uncached.
	APIReader client.Reader
	Recorder  record.EventRecorder
	Orgs      Orgs
	Now       func() time.Time
	// Cluster names this cluster in the owner notes of the spoke's tiles.
	Cluster *ClusterID
	// Drift, when set, wakes objects changed in Okta by someone else and
	// makes the periodic read the org's safety sweep while its log is
	// followed.
	Drift *DriftWatch
	// NamespaceLanes bound what one namespace's identity providers hold of
	// the workers.
	NamespaceLanes
}

// SetupWithManager watches the IdPs, the apps they read (the spoke app they
// trust, the hub apps they share), and those apps' connection Secrets (by
// metadata): the spoke's certificate, the hub apps' embed links.
func (r *OktaSAMLIdentityProviderReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.Now == nil {
		r.Now = time.Now
	}
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &ssov1.OktaSAMLIdentityProvider{}, idpAppsIndex,
		func(o client.Object) []string {
			spec := o.(*ssov1.OktaSAMLIdentityProvider).Spec
			var names []string
			if spec.SpokeAppRef != nil {
				names = append(names, string(spec.SpokeAppRef.Name))
			}
			for _, shared := range spec.SharedApps {
				names = append(names, string(shared.Name))
			}
			return names
		}); err != nil {
		return err
	}
	if err := oktaorg.IndexByObject(mgr, &ssov1.OktaSAMLIdentityProvider{}, func(o client.Object) []ssov1.OrgReference {
		return []ssov1.OrgReference{o.(*ssov1.OktaSAMLIdentityProvider).Spec.OrgRef}
	}); err != nil {
		return err
	}
	byApp := requestsByIndex(r, &ssov1.OktaSAMLIdentityProviderList{}, idpAppsIndex)
	b := ctrl.NewControllerManagedBy(mgr).
		For(&ssov1.OktaSAMLIdentityProvider{}, builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, requestAnnotationChanged, idpIDSetByHand))).
		Watches(&ssov1.OktaSAMLApp{}, handler.EnqueueRequestsFromMapFunc(byApp), builder.WithPredicates(appReadinessChanged)).
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(byOwningApp(byApp)), builder.OnlyMetadata).
		// The spoke's tiles go to the groups the Org2Org app is assigned
		// to: a binding that changes them changes who sees the tiles.
		Watches(&ssov1.SSOBinding{}, handler.EnqueueRequestsFromMapFunc(byBoundApp(byApp)), builder.WithPredicates(bindingAssignmentsChanged))
	if r.Drift != nil {
		b = b.WatchesRawSource(r.Drift.idps.source())
	}
	b = r.withLanes(b, func() client.Object { return &ssov1.OktaSAMLIdentityProvider{} })
	return oktaorg.Watch(b, r, &ssov1.OktaSAMLIdentityProviderList{}, r.Orgs.ClusterNamespace()).
		Named("oktasamlidentityprovider").
		Complete(r)
}

// idpIDSetByHand passes an IdP ID or an adoption request a person set.
var idpIDSetByHand = ownershipAnnotationsChanged(ssov1.IdPIDAnnotation, func(o client.Object) string {
	return o.(*ssov1.OktaSAMLIdentityProvider).Status.IdPID
})

// byOwningApp maps a connection Secret to what its app's watchers map the
// app to.
func byOwningApp(byApp handler.MapFunc) handler.MapFunc {
	return func(ctx context.Context, o client.Object) []ctrl.Request {
		owner := metav1.GetControllerOf(o)
		if owner == nil || owner.Kind != "OktaSAMLApp" {
			return nil
		}
		app := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Namespace: o.GetNamespace(), Name: owner.Name}}
		return byApp(ctx, app)
	}
}

// Reconcile runs the shared reconcile with this kind's steps.
func (r *OktaSAMLIdentityProviderReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	return r.inLane(req, func() (ctrl.Result, error) {
		return reconcileObject(ctx, r.lifecycle(), req, &ssov1.OktaSAMLIdentityProvider{}, r)
	})
}

func (r *OktaSAMLIdentityProviderReconciler) lifecycle() lifecycle {
	return lifecycle{client: r.Client, recorder: r.Recorder, now: r.Now}
}

// apply: the spoke's trust, the key the hub verifies it with, the IdP, its
// status in Okta, then what it publishes.
func (r *OktaSAMLIdentityProviderReconciler) apply(ctx context.Context, p *ssov1.OktaSAMLIdentityProvider, conds conditions) (time.Duration, error) {
	if err := r.Cluster.Resolve(ctx); err != nil {
		return 0, err
	}
	oktaorg.WarnDeprecated(r.Recorder, p, p.Spec.OrgRef)
	org, err := r.Orgs.Get(ctx, p.Namespace, p.Spec.OrgRef)
	if err != nil {
		return 0, err
	}
	if err := idpPolicy(org, p); err != nil {
		return 0, err
	}
	ctx = org.Scope(ctx, p.Namespace)
	spoke, err := r.spoke(ctx, p)
	if err != nil {
		return 0, err
	}
	groups, err := hubGroups(ctx, org.Client, p.Spec)
	if err != nil {
		return 0, err
	}
	kid, err := trustKey(ctx, org.Client, p, spoke.cert)
	if err != nil {
		return 0, err
	}
	idp, err := r.ensureIdP(ctx, org.Client, p, desiredIdP(p, spoke, kid, groups))
	if err != nil {
		return 0, err
	}
	if err := setIdPActive(ctx, org.Client, idp, boolOr(p.Spec.Active, true)); err != nil {
		return 0, err
	}
	previous := p.Status.TrustedCertificate
	notAfter := metav1.NewTime(spoke.cert.NotAfter)
	p.Status.IdPID, p.Status.ACSURL, p.Status.Audience, p.Status.HubURL = idp.ID(), idp.ACSURL(), idp.Audience(), org.URL
	p.Status.TrustedCertificate = &ssov1.TrustedCertificate{KeyID: kid, SHA256Fingerprint: fingerprint(spoke.cert), NotAfter: &notAfter}
	if previous != nil && previous.KeyID != kid {
		// The spoke's certificate changed and the IdP trusts the new one: the
		// old key is no longer used (Okta refuses to delete one in use).
		if err := org.Client.DeleteIdPKey(ctx, previous.KeyID); err != nil && !refused(err) {
			return 0, err
		}
	}
	if err := r.shareApps(ctx, p, spoke); err != nil {
		return 0, err
	}
	conds.succeeded(ssov1.ReconcileSucceededReason, fmt.Sprintf("The hub trusts %s; the ACS URL and audience for its Org2Org app are in status", spoke.issuer))
	return r.Drift.recheckAfter(org, string(p.UID), p.ReconcileInterval(), r.Now()), nil
}

// spoke is the spoke's issuer, SSO URL and certificate: written in the spec,
// or read from the spoke app's connection Secret, which the app keeps current
// (its key rotation included).
func (r *OktaSAMLIdentityProviderReconciler) spoke(ctx context.Context, p *ssov1.OktaSAMLIdentityProvider) (spokeTrust, error) {
	if s := p.Spec.Spoke; s != nil {
		cert, err := parseCertificate([]byte(s.SigningCertificate))
		if err != nil {
			return spokeTrust{}, &errInvalidSpec{"spec.spoke.signingCertificate: " + err.Error()}
		}
		return spokeTrust{issuer: s.Issuer, ssoURL: string(s.SSOURL), cert: cert}, nil
	}
	app := &ssov1.OktaSAMLApp{}
	name := string(p.Spec.SpokeAppRef.Name)
	if err := r.Get(ctx, client.ObjectKey{Namespace: p.Namespace, Name: name}, app); err != nil {
		if apierrors.IsNotFound(err) {
			return spokeTrust{}, &errDependency{fmt.Sprintf("OktaSAMLApp %s/%s not found: create the spoke's Org2Org app, or correct spokeAppRef.name", p.Namespace, name)}
		}
		return spokeTrust{}, err
	}
	if app.Status.AppID == "" || app.Status.ConnectionSecretName == "" {
		return spokeTrust{}, &errDependency{fmt.Sprintf("OktaSAMLApp %s/%s has no app in the spoke org yet; waiting for it", p.Namespace, name)}
	}
	values, err := secretValues(ctx, r.APIReader, p.Namespace, app.Status.ConnectionSecretName, keyIDPIssuer, keyIDPSSOURL, keyIDPCert)
	if err != nil {
		return spokeTrust{}, &errDependency{fmt.Sprintf("the spoke app's connection Secret is not complete yet: %v", err)}
	}
	cert, err := parseCertificate(values[2])
	if err != nil {
		return spokeTrust{}, &errDependency{fmt.Sprintf("the spoke app's connection Secret holds no certificate yet: %v", err)}
	}
	return spokeTrust{issuer: string(values[0]), ssoURL: string(values[1]), cert: cert, app: app}, nil
}

// hubGroups resolves the groups the policy names to their IDs in the hub.
func hubGroups(ctx context.Context, c okta.API, spec ssov1.OktaSAMLIdentityProviderSpec) (idpGroups, error) {
	resolve := func(field string, names []string) ([]string, error) {
		var ids []string
		for _, name := range names {
			g, err := c.FindGroupByName(ctx, name)
			if okta.IsNotFound(err) {
				return nil, &errCondition{reason: ssov1.SubjectNotFoundReason,
					msg: fmt.Sprintf("The hub org has no group named %s (%s): create it in the hub, or correct the name", name, field)}
			}
			if err != nil {
				return nil, err
			}
			ids = append(ids, g.ID)
		}
		return ids, nil
	}
	var groups idpGroups
	var err error
	if spec.AccountLink.Policy == ssov1.AccountLinkAuto {
		if groups.link, err = resolve("spec.accountLink.groups", spec.AccountLink.Groups); err != nil {
			return idpGroups{}, err
		}
	}
	groups.jit, err = resolve("spec.provisioning.groups", spec.Provisioning.Groups)
	return groups, err
}

// trustKey is the hub's IdP key for cert: the one in status when it still
// holds that certificate, else one already in the hub (a run that stopped
// after creating it), else a new one.
func trustKey(ctx context.Context, c okta.API, p *ssov1.OktaSAMLIdentityProvider, cert *x509.Certificate) (string, error) {
	want := fingerprint(cert)
	if t := p.Status.TrustedCertificate; t != nil && t.SHA256Fingerprint == want {
		_, err := c.GetIdPKey(ctx, t.KeyID)
		if err == nil {
			return t.KeyID, nil
		}
		if !okta.IsNotFound(err) {
			return "", err
		}
	}
	keys, err := c.ListIdPKeys(ctx)
	if err != nil {
		return "", err
	}
	for _, k := range keys {
		if len(k.X5c) > 0 && sameCertificate(k.X5c[0], cert) {
			return k.Kid, nil
		}
	}
	created, err := c.CreateIdPKey(ctx, []string{base64.StdEncoding.EncodeToString(cert.Raw)})
	if err != nil {
		return "", err
	}
	return created.Kid, nil
}

// ensureIdP finds the IdP this object owns (findIdP), creates it when
// there is none, and puts back what differs from the spec.
func (r *OktaSAMLIdentityProviderReconciler) ensureIdP(ctx context.Context, c okta.API, p *ssov1.OktaSAMLIdentityProvider, want okta.IdentityProvider) (okta.IdentityProvider, error) {
	current, err := r.findIdP(ctx, c, p, want.Name())
	if err != nil {
		return nil, err
	}
	if current == nil {
		return r.createIdP(ctx, c, p, want)
	}
	if !idpDiffers(current, want) {
		return current, nil
	}
	updated, err := c.UpdateIdentityProvider(ctx, current.ID(), want)
	if err != nil {
		return nil, idpRefused(err)
	}
	log.FromContext(ctx).Info("Updated identity provider", "idp", current.ID())
	return updated, nil
}

// oktaClockSkew is how far Okta's clock may be behind ours when an IdP
// created just before a crash is recognised by its creation time.
const oktaClockSkew = 5 * time.Minute

// findIdP returns the IdP this object owns: one the idp-id annotation names
// that status does not hold yet, only if attachIdP allows it (an adoption);
// else the one in status (none when it was deleted by hand: it is created
// again); else, with a create started and not recorded (a crash), the IdP
// of this name Okta created since then. No other IdP is looked up by name:
// one made by hand with the same name is never touched.
func (r *OktaSAMLIdentityProviderReconciler) findIdP(ctx context.Context, c okta.API, p *ssov1.OktaSAMLIdentityProvider, name string) (okta.IdentityProvider, error) {
	if id := p.Annotations[ssov1.IdPIDAnnotation]; id != "" && id != p.Status.IdPID {
		return r.adoptIdP(ctx, c, p, id)
	}
	if id := p.Status.IdPID; id != "" {
		idp, err := c.GetIdentityProvider(ctx, id)
		if okta.IsNotFound(err) {
			return nil, nil
		}
		return idp, err
	}
	started := p.Status.CreateStartedAt
	if started == nil {
		return nil, nil
	}
	found, err := c.ListIdentityProviders(ctx, name)
	if err != nil {
		return nil, err
	}
	for _, idp := range found {
		if idp.Name() == name && idp.Created().After(started.Add(-oktaClockSkew)) {
			if err := r.recordIdP(ctx, p, idp); err != nil {
				return nil, err
			}
			return idp, nil
		}
	}
	return nil, nil
}

// adoptIdP takes on the IdP the annotation names, if attachIdP allows it.
func (r *OktaSAMLIdentityProviderReconciler) adoptIdP(ctx context.Context, c okta.API, p *ssov1.OktaSAMLIdentityProvider, id string) (okta.IdentityProvider, error) {
	idp, err := c.GetIdentityProvider(ctx, id)
	if okta.IsNotFound(err) {
		return nil, &errInvalidSpec{fmt.Sprintf("identity provider %s, named by the %s annotation, is not in the hub org: check the ID and spec.orgRef (nothing was created)", id, ssov1.IdPIDAnnotation)}
	}
	if err != nil {
		return nil, err
	}
	adopt, err := readAdoptRequest(p.Annotations)
	if err != nil {
		return nil, err
	}
	if err := attachIdP(idp, adopt); err != nil {
		return nil, err
	}
	p.Status.IdPID, p.Status.Origin = id, ssov1.OriginAdopted
	r.Recorder.Event(p, corev1.EventTypeNormal, "Adopted", fmt.Sprintf("Adopted identity provider %s (%q), made by hand, as the %s annotation asks", id, idp.Name(), ssov1.AdoptAnnotation))
	return idp, nil
}

// createIdP records that a create is starting (in status, which only the
// operator writes: an annotation could be forged), creates the IdP, and
// records its ID in status and the idp-id annotation at once.
func (r *OktaSAMLIdentityProviderReconciler) createIdP(ctx context.Context, c okta.API, p *ssov1.OktaSAMLIdentityProvider, want okta.IdentityProvider) (okta.IdentityProvider, error) {
	started := metav1.NewTime(r.Now())
	if err := r.patchStatusNow(ctx, p, func(s *ssov1.OktaSAMLIdentityProviderStatus) { s.CreateStartedAt = &started }); err != nil {
		return nil, err
	}
	created, err := c.CreateIdentityProvider(ctx, want)
	if err != nil {
		if refused(err) || okta.IsNotSent(err) { // nothing was made: nothing to look for
			p.Status.CreateStartedAt = nil
		}
		return nil, idpRefused(err)
	}
	if err := r.recordIdP(ctx, p, created); err != nil {
		return nil, err
	}
	verb := "Created"
	if p.Status.ObservedGeneration > 0 {
		verb = ssov1.RecreatedReason
	}
	r.Recorder.Event(p, corev1.EventTypeNormal, verb, "Created identity provider "+created.ID()+" in the hub org")
	return created, nil
}

// recordIdP records a created IdP as this object's: status first (the
// record ownership rests on), with the outputs that belong to that IdP so
// that no reader sees a new ID beside an old ACS URL, then the annotation
// (which survives a backup).
func (r *OktaSAMLIdentityProviderReconciler) recordIdP(ctx context.Context, p *ssov1.OktaSAMLIdentityProvider, idp okta.IdentityProvider) error {
	if err := r.patchStatusNow(ctx, p, func(s *ssov1.OktaSAMLIdentityProviderStatus) {
		s.IdPID, s.Origin, s.CreateStartedAt = idp.ID(), ssov1.OriginCreated, nil
		s.ACSURL, s.Audience = idp.ACSURL(), idp.Audience()
	}); err != nil {
		return err
	}
	id := idp.ID()
	return patchAnnotations(ctx, r.Client, p, map[string]*string{ssov1.IdPIDAnnotation: &id})
}

// patchStatusNow writes a change to status at once, not at the end of the
// reconcile: ownership must be on record before the next Okta call. It
// patches a copy, so p keeps the rest of the status built so far.
func (r *OktaSAMLIdentityProviderReconciler) patchStatusNow(ctx context.Context, p *ssov1.OktaSAMLIdentityProvider, change func(*ssov1.OktaSAMLIdentityProviderStatus)) error {
	patched := p.DeepCopy()
	base := patched.DeepCopy()
	change(&patched.Status)
	if err := r.Status().Patch(ctx, patched, client.MergeFrom(base)); err != nil {
		return err
	}
	change(&p.Status)
	p.SetResourceVersion(patched.ResourceVersion)
	return nil
}

// idpRefused makes Okta's refusal of the IdP an InvalidSpec with its causes.
func idpRefused(err error) error {
	if refused(err) {
		return &errInvalidSpec{"Okta refused the identity provider: " + err.Error()}
	}
	return err
}

// refused: Okta answered 400 (a key still in use, a body it does not take).
func refused(err error) bool {
	_, invalid := okta.IsInvalid(err)
	return invalid
}

func setIdPActive(ctx context.Context, c okta.API, idp okta.IdentityProvider, active bool) error {
	switch {
	case active && idp.Status() != okta.StatusActive:
		return c.ActivateIdentityProvider(ctx, idp.ID())
	case !active && idp.Status() == okta.StatusActive:
		return c.DeactivateIdentityProvider(ctx, idp.ID())
	}
	return nil
}

// finalize deletes the spoke's tiles and the IdP this object owns under
// deletionPolicy Delete; an adopted IdP stays in the hub unless the adopt
// annotation says Delete. An IdP never owned is never touched.
func (r *OktaSAMLIdentityProviderReconciler) finalize(ctx context.Context, p *ssov1.OktaSAMLIdentityProvider, conds conditions) (ctrl.Result, error) {
	if err := r.Cluster.Resolve(ctx); err != nil {
		return r.lifecycle().failed(ctx, p, conds, err, "")
	}
	if p.Spec.DeletionPolicy != ssov1.DeletionPolicyOrphan && !p.Spec.Suspend && len(p.Status.SharedApps) > 0 {
		if err := r.removeTiles(ctx, p); err != nil {
			return r.lifecycle().failed(ctx, p, conds, err, "deleting the spoke's tiles")
		}
	}
	id := p.Status.IdPID
	adopt, _ := readAdoptRequest(p.Annotations) // an unreadable request keeps the IdP
	return finalizeInOkta(ctx, r.lifecycle(), r.Orgs, conds, oktaDeletion{
		obj: p, orgRef: p.Spec.OrgRef, what: "identity provider", id: id,
		untouched: id == "" || p.Spec.Suspend,
		finish: func(ctx context.Context, org *Org) (finalized, error) {
			if keepOnDelete(cmp.Or(p.Status.Origin, ssov1.OriginCreated), org.Tenant.DeletionPolicy(p.Spec.DeletionPolicy), adopt) {
				return finalized{ssov1.ReleasedReason, "Left identity provider " + id + " in the hub org"}, nil
			}
			return finalized{ssov1.DeletingReason, "Deactivated and deleted identity provider " + id + " in the hub org"}, deleteIdP(ctx, org.Client, id, p.Status.TrustedCertificate)
		},
	})
}

// deleteIdP deactivates and deletes the IdP, then the key it trusted (a key
// another IdP still uses is refused by Okta, and kept).
func deleteIdP(ctx context.Context, c okta.API, id string, trusted *ssov1.TrustedCertificate) error {
	if err := c.DeactivateIdentityProvider(ctx, id); err != nil && !okta.IsNotFound(err) {
		return err
	}
	if err := c.DeleteIdentityProvider(ctx, id); err != nil {
		return err
	}
	if trusted != nil {
		if err := c.DeleteIdPKey(ctx, trusted.KeyID); err != nil && !refused(err) {
			return err
		}
	}
	return nil
}
