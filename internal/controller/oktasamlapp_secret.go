package controller

// The OktaSAMLApp's connection Secret: what the workload needs to trust Okta
// (and its own SP key pair), written only when its content changed.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/oktaop/okta-sso-operator/internal/keys"
	"github.com/oktaop/okta-sso-operator/internal/okta"
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
)

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
	metadata, idp, err := idpMetadata(ctx, org.Client, oktaApp.ID, published)
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
