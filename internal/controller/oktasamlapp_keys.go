package controller

// The OktaSAMLApp's keys: the SP key pair (generated and renewed, or taken
// from a Secret) and the staged rotation of the IdP signing key in Okta.

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"

	corev1 "k8s.io/api/core/v1"

	"github.com/oktaop/okta-sso-operator/internal/keys"
	"github.com/oktaop/okta-sso-operator/internal/okta"
	"github.com/oktaop/okta-sso-operator/internal/saml"
)

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

// publishedKey is a signing certificate handed to SPs.
type publishedKey struct {
	kid  string
	cert *x509.Certificate
	// metadata is Okta's IdP metadata for this key, when already read.
	metadata []byte
}

// rotateKeys runs the staged rotation of the IdP signing key and returns
// the certificates to publish, active first, and when to look again. When
// one key is published, it is the active one and nothing is due, it makes
// no call.
func (r *OktaSAMLAppReconciler) rotateKeys(ctx context.Context, c okta.API, app *ssov1.OktaSAMLApp, oktaApp *okta.App, existing *corev1.Secret, change appChange) ([]publishedKey, time.Duration, error) {
	activeKid := ""
	if oktaApp.Credentials.Signing != nil {
		activeKid = oktaApp.Credentials.Signing.Kid
	}
	if published, recheck, ok := r.steadyKeys(app, activeKid, existing); ok {
		return published, recheck, nil
	}
	if change.created {
		if published, recheck, ok, err := r.newAppKey(ctx, c, app, oktaApp.ID, activeKid); ok || err != nil {
			return published, recheck, err
		}
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
	rotate, promote := signingKeyRequests(app)
	rotation := keys.Rotation{Now: r.Now(), Active: *active, Next: next, Previous: previous,
		RotateBefore: spec.RotateBefore.Duration, PromoteAfter: spec.PromoteAfter.Duration,
		RotateRequested: rotate.pending, PromoteRequested: promote.pending}
	step, recheck := keys.NextStep(rotation)
	rotateServed, promoteServed := keys.ServedRequests(rotation, step)
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
		if err := r.retrustHubs(ctx, app, byKid[st.NextKeyID]); err != nil {
			return nil, 0, fmt.Errorf("moving the hub's trust to signing key %s before promoting it: %w", st.NextKeyID, err)
		}
		promoted := *oktaApp
		promoted.Credentials.Signing = &okta.AppSigning{Kid: st.NextKeyID}
		updated, err := c.UpdateApp(ctx, &promoted)
		if err != nil {
			return nil, 0, fmt.Errorf("promoting signing key %s: %w", st.NextKeyID, err)
		}
		*oktaApp = *updated
		st.PreviousKeyID, st.ActiveKeyID, st.NextKeyID, st.RotationPhase = st.ActiveKeyID, st.NextKeyID, "", ssov1.RotationPhasePromoted
		r.Recorder.Event(app, corev1.EventTypeNormal, "SigningKeyPromoted", "Okta now signs with key "+st.ActiveKeyID)
		recheck = app.ReconcileInterval()
	case keys.StepRetire:
		r.Recorder.Event(app, corev1.EventTypeNormal, "SigningKeyRetired", "Stopped publishing key "+st.PreviousKeyID)
		st.PreviousKeyID, st.RotationPhase = "", ssov1.RotationPhaseStable
	}
	if rotateServed {
		app.Status.LastHandledRotateAt = rotate.value
	}
	if promoteServed {
		if step != keys.StepPromote {
			r.Recorder.Event(app, corev1.EventTypeNormal, "NothingToPromote", "No signing key is staged, so the promotion request "+promote.value+" changed nothing")
		}
		app.Status.LastHandledPromoteAt = promote.value
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

// newAppKey publishes a new app's one signing key from its metadata, which
// the connection Secret needs anyway and which holds that key's
// certificate: the key list would add nothing, so a create costs one call
// fewer. Not when a rotation is requested or due at once (then the full
// path runs, ok false).
func (r *OktaSAMLAppReconciler) newAppKey(ctx context.Context, c okta.API, app *ssov1.OktaSAMLApp, appID, activeKid string) ([]publishedKey, time.Duration, bool, error) {
	if rotate, promote := signingKeyRequests(app); rotate.pending || promote.pending || activeKid == "" {
		return nil, 0, false, nil
	}
	metadata, err := c.GetSAMLMetadata(ctx, appID, activeKid)
	if err != nil {
		return nil, 0, false, fmt.Errorf("reading the new app's IdP metadata: %w", err)
	}
	idp, err := saml.ParseIDPMetadata(metadata)
	if err != nil {
		return nil, 0, false, fmt.Errorf("reading the new app's IdP metadata: %w", err)
	}
	cert := idp.Certificates[0]
	spec := app.Spec.SigningKey
	step, recheck := keys.NextStep(keys.Rotation{Now: r.Now(), Active: keys.SigningKey{Kid: activeKid, Created: cert.NotBefore, ExpiresAt: cert.NotAfter},
		RotateBefore: spec.RotateBefore.Duration, PromoteAfter: spec.PromoteAfter.Duration})
	if step != keys.StepNone {
		return nil, 0, false, nil
	}
	notAfter := metav1.NewTime(cert.NotAfter)
	app.Status.SigningKey = &ssov1.SigningKeyStatus{ActiveKeyID: activeKid, RotationPhase: ssov1.RotationPhaseStable, NotAfter: &notAfter}
	return []publishedKey{{kid: activeKid, cert: cert, metadata: metadata}}, recheck, true, nil
}

// request is a request annotation's value and whether it waits to be served.
type request struct {
	value   string
	pending bool
}

// signingKeyRequests reads the rotate and promote request annotations.
func signingKeyRequests(app *ssov1.OktaSAMLApp) (rotate, promote request) {
	rotate.value, rotate.pending = pendingRequest(app, ssov1.RotateSigningKeyAnnotation, app.Status.LastHandledRotateAt)
	promote.value, promote.pending = pendingRequest(app, ssov1.PromoteSigningKeyAnnotation, app.Status.LastHandledPromoteAt)
	return rotate, promote
}

// steadyKeys answers from status and the Secret, without asking Okta, when
// the active key is the known one, no rotation is under way, none is due
// and none is requested.
func (r *OktaSAMLAppReconciler) steadyKeys(app *ssov1.OktaSAMLApp, activeKid string, existing *corev1.Secret) ([]publishedKey, time.Duration, bool) {
	// One published key that is the active one: no rotation under way.
	if existing == nil || activeKid == "" || existing.Annotations[publishedKeysAnnotation] != activeKid {
		return nil, 0, false
	}
	if rotate, promote := signingKeyRequests(app); rotate.pending || promote.pending {
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
