package controller

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/record"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
	"github.com/oktaop/okta-sso-operator/internal/okta"
	"github.com/oktaop/okta-sso-operator/internal/org"
)

// Keys of the org Secret.
const (
	orgURLKey           = "orgURL"
	apiTokenKey         = "apiToken"
	clientIDKey         = "clientID"
	privateKeyKey       = "privateKey"
	keyIDKey            = "keyID"
	scopesKey           = "scopes"
	caBundleKey         = "caBundle"
	maxCapacityKey      = "maxAPICapacityPercent"
	maxOrgDeactivations = "maxOrgDeactivationPercent"
	logPollKey          = "systemLogPollInterval"
)

// defaultLogPoll is how often the org's System Log is read between full
// AccountSync runs when the org Secret does not say.
const defaultLogPoll = time.Minute

// Org is a connection to one Okta org, read from an org Secret.
type Org struct {
	Client okta.API
	// URL is the org's base URL; CompanyID its subdomain (Okta's company ID).
	URL, CompanyID string
	// MaxDeactivationPercent is the org-level import safeguard: the share of
	// accounts all AccountSyncs of this org may deactivate in 24 hours.
	MaxDeactivationPercent int
	// CapacityPercent is the share of each rate-limit bucket its org object
	// or Secret asks for (withAppliedLimit may apply a stricter one).
	CapacityPercent int
	// LogPoll is how often the org's System Log is followed for its
	// AccountSyncs between full runs; 0 when the org Secret turns it off.
	LogPoll time.Duration
}

// Orgs gives the Okta org an object's orgRef names, from its namespace.
type Orgs interface {
	Get(ctx context.Context, namespace string, ref ssov1.OrgReference) (*Org, error)
	// ClusterNamespace is where ClusterOktaOrgs' credential Secrets live.
	ClusterNamespace() string
}

// SecretOrgs resolves an orgRef: a ClusterOktaOrg (if its conditions allow
// the namespace; its credential Secrets in ClusterResourceNamespace), an
// OktaOrg in the namespace, or a deprecated org Secret in the namespace. It
// keeps one client per version of the org object and its Secrets, so that
// a token is cached across reconciles and a change takes effect at once.
// Every client of an org shares the org's rate-limit budget (one per
// canonical URL).
type SecretOrgs struct {
	Reader client.Reader
	// ClusterResourceNamespace holds the credential Secrets of
	// ClusterOktaOrgs: the operator's own namespace.
	ClusterResourceNamespace string
	// Now is the clock clients use; time.Now when nil.
	Now func() time.Time
	// Configure adjusts each client's config (tests set retry delays).
	Configure func(*okta.Config)

	mu      sync.Mutex
	clients map[string]*Org // what@version
}

// ClusterNamespace is where ClusterOktaOrgs' credential Secrets live.
func (o *SecretOrgs) ClusterNamespace() string { return o.ClusterResourceNamespace }

// Get resolves the orgRef. An org object's org gets the stricter settings
// of every org object that names the same org (withAppliedLimit); an org
// Secret of the old form keeps its own safeguard, and shares the org
// objects' budget share when they name its org.
func (o *SecretOrgs) Get(ctx context.Context, namespace string, ref ssov1.OrgReference) (*Org, error) {
	var org *Org
	var err error
	switch ref.Kind {
	case ssov1.OrgKindCluster:
		org, err = o.clusterOrg(ctx, namespace, string(ref.Name))
	case ssov1.OrgKindNamespaced:
		org, err = o.namespacedOrg(ctx, namespace, string(ref.Name))
	default:
		if org, err = o.secretOrg(ctx, namespace, string(ref.SecretName)); err != nil {
			return nil, err
		}
		return withAppliedLimit(ctx, o.Reader, org, false)
	}
	if err != nil {
		return nil, err
	}
	return withAppliedLimit(ctx, o.Reader, org, true)
}

// warnDeprecatedOrgRef says, once per generation, that an org Secret in
// the namespace is the deprecated way to name the org, and what to write.
func warnDeprecatedOrgRef(recorder record.EventRecorder, obj object, ref ssov1.OrgReference) {
	if ref.SecretName == "" || obj.GetCommonStatus().ObservedGeneration == obj.GetGeneration() {
		return
	}
	recorder.Event(obj, corev1.EventTypeWarning, ssov1.DeprecatedReason, fmt.Sprintf("orgRef.secretName keeps the Okta org's credential in this namespace and goes in a later release: "+
		"name a ClusterOktaOrg the platform team offers (kubectl get clusteroktaorgs) or an OktaOrg here instead, as orgRef: {kind: ClusterOktaOrg, name: NAME}; Secret %s keeps working until then", ref.SecretName))
}

// orgKey names the org object an orgRef points at, for lanes and caches.
func orgKey(namespace string, ref ssov1.OrgReference) string {
	switch ref.Kind {
	case ssov1.OrgKindCluster:
		return "ClusterOktaOrg/" + string(ref.Name)
	case ssov1.OrgKindNamespaced:
		return namespace + "/OktaOrg/" + string(ref.Name)
	}
	return namespace + "/" + string(ref.SecretName)
}

func (o *SecretOrgs) clusterOrg(ctx context.Context, namespace, name string) (*Org, error) {
	co := &ssov1.ClusterOktaOrg{}
	if err := o.Reader.Get(ctx, client.ObjectKey{Name: name}, co); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, &errDependency{fmt.Sprintf("ClusterOktaOrg %s not found: kubectl get clusteroktaorgs lists the orgs the platform offers", name)}
		}
		return nil, err
	}
	if err := o.allowed(ctx, co, namespace); err != nil {
		return nil, err
	}
	return o.fromSpec(ctx, "ClusterOktaOrg "+name, o.ClusterResourceNamespace, co.Spec.OktaOrgSpec, "ClusterOktaOrg/"+name+"@"+specVersion(co))
}

func (o *SecretOrgs) namespacedOrg(ctx context.Context, namespace, name string) (*Org, error) {
	oo := &ssov1.OktaOrg{}
	if err := o.Reader.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, oo); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, &errDependency{fmt.Sprintf("OktaOrg %s/%s not found: create it, or correct orgRef.name", namespace, name)}
		}
		return nil, err
	}
	return o.fromSpec(ctx, "OktaOrg "+namespace+"/"+name, namespace, oo.Spec, namespace+"/OktaOrg/"+name+"@"+specVersion(oo))
}

// specVersion names the version of an org object's spec: its status and
// metadata change often (the org's own status is written on every check),
// and a new client there would fetch a new token each time.
func specVersion(o client.Object) string {
	return fmt.Sprintf("%s.%d", o.GetUID(), o.GetGeneration())
}

// allowed refuses a namespace the ClusterOktaOrg's conditions do not name,
// before anything is read of its credential or sent to Okta.
func (o *SecretOrgs) allowed(ctx context.Context, co *ssov1.ClusterOktaOrg, namespace string) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}
	if org.NeedsLabels(co.Spec.Conditions) {
		if err := o.Reader.Get(ctx, client.ObjectKey{Name: namespace}, ns); err != nil {
			return err
		}
	}
	ok, err := org.Allows(co.Spec.Conditions, ns)
	if err != nil {
		return &errCondition{reason: ssov1.OrgNotAllowedReason, msg: fmt.Sprintf("ClusterOktaOrg %s has a condition that cannot be read (%v): it allows no namespace until a cluster admin fixes it", co.Name, err)}
	}
	if !ok {
		return &errCondition{reason: ssov1.OrgNotAllowedReason, msg: fmt.Sprintf("namespace %s may not use ClusterOktaOrg %s: it is not in the org's spec.conditions, which a cluster admin can change; nothing was sent to Okta", namespace, co.Name)}
	}
	return nil
}

// fromSpec builds the org an org object describes; its credential is read
// from Secrets in secretNamespace. version names the object's version; the
// Secrets' versions are added to it.
func (o *SecretOrgs) fromSpec(ctx context.Context, what, secretNamespace string, spec ssov1.OktaOrgSpec, version string) (*Org, error) {
	cfg := okta.Config{OrgURL: string(spec.URL), CABundle: []byte(spec.CABundle), MaxAPICapacityPercent: int(cmp.Or(spec.MaxAPICapacityPercent, 50))}
	switch c := spec.Credentials; {
	case c.APIToken != nil:
		token, rv, err := credential(ctx, o.Reader, what, secretNamespace, *c.APIToken)
		if err != nil {
			return nil, err
		}
		cfg.APIToken, version = strings.TrimSpace(string(token)), version+"/"+rv
	case c.OAuth != nil:
		key, rv, err := credential(ctx, o.Reader, what, secretNamespace, c.OAuth.PrivateKey)
		if err != nil {
			return nil, err
		}
		cfg.OAuth = &okta.OAuthConfig{ClientID: c.OAuth.ClientID, PrivateKeyPEM: key, KeyID: c.OAuth.KeyID, Scopes: c.OAuth.Scopes}
		version += "/" + rv
	default:
		return nil, &errInvalidSpec{what + " has no credentials"}
	}
	deactivations, poll := int32(20), defaultLogPoll
	if spec.MaxOrgDeactivationPercent != nil {
		deactivations = *spec.MaxOrgDeactivationPercent
	}
	if spec.SystemLogPollInterval != nil {
		poll = spec.SystemLogPollInterval.Duration
	}
	return o.cached(what, version, func() (*Org, error) { return o.newOrg(what, cfg, int(deactivations), poll) })
}

// credential reads one key of a credential Secret, and the Secret's version;
// errors name the Secret and key, never a value.
func credential(ctx context.Context, r client.Reader, what, namespace string, ref ssov1.SecretKeySelector) ([]byte, string, error) {
	var s corev1.Secret
	if err := r.Get(ctx, client.ObjectKey{Namespace: namespace, Name: string(ref.Name)}, &s); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, "", &errSecret{fmt.Sprintf("%s: credential Secret %s/%s not found", what, namespace, ref.Name)}
		}
		return nil, "", err
	}
	if len(s.Data[string(ref.Key)]) == 0 {
		return nil, "", &errSecret{fmt.Sprintf("%s: credential Secret %s/%s has no key %s", what, namespace, ref.Name, ref.Key)}
	}
	return s.Data[string(ref.Key)], s.ResourceVersion, nil
}

// cached returns the org built for this version of what, building it once;
// an older version's client is dropped.
func (o *SecretOrgs) cached(what, version string, build func() (*Org, error)) (*Org, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if org, ok := o.clients[version]; ok {
		return org, nil
	}
	org, err := build()
	if err != nil {
		return nil, err
	}
	if o.clients == nil {
		o.clients = map[string]*Org{}
	}
	prefix, _, _ := strings.Cut(version, "@")
	for k := range o.clients {
		if strings.HasPrefix(k, prefix+"@") {
			delete(o.clients, k)
		}
	}
	o.clients[version] = org
	return org, nil
}

// newOrg makes the org's client.
func (o *SecretOrgs) newOrg(what string, cfg okta.Config, maxDeactivations int, poll time.Duration) (*Org, error) {
	cfg.Now = o.Now
	if o.Configure != nil {
		o.Configure(&cfg)
	}
	c, err := okta.New(cfg)
	if err != nil {
		return nil, &errSecret{fmt.Sprintf("%s: %v", what, err)}
	}
	return &Org{Client: c, URL: c.OrgURL(), CompanyID: companyID(c.OrgURL()), MaxDeactivationPercent: maxDeactivations, LogPoll: poll,
		CapacityPercent: cmp.Or(cfg.MaxAPICapacityPercent, okta.DefaultCapacityPercent)}, nil
}

// secretOrg reads a deprecated org Secret in the namespace.
func (o *SecretOrgs) secretOrg(ctx context.Context, namespace, secretName string) (*Org, error) {
	var s corev1.Secret
	if err := o.Reader.Get(ctx, client.ObjectKey{Namespace: namespace, Name: secretName}, &s); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, &errSecret{fmt.Sprintf("org Secret %s/%s not found: create it with orgURL and apiToken (or clientID and privateKey)", namespace, secretName)}
		}
		return nil, err
	}
	what := "org Secret " + namespace + "/" + secretName
	return o.cached(what, namespace+"/"+secretName+"@"+s.ResourceVersion, func() (*Org, error) {
		cfg, err := orgConfig(namespace, secretName, s.Data)
		if err != nil {
			return nil, err
		}
		maxDeactivations, err := percentKey(namespace, secretName, s.Data, maxOrgDeactivations, 20, 0)
		if err != nil {
			return nil, err
		}
		poll, err := logPoll(namespace, secretName, s.Data)
		if err != nil {
			return nil, err
		}
		return o.newOrg(what, cfg, maxDeactivations, poll)
	})
}

// orgConfig reads an org Secret; errors name the key, never its value.
func orgConfig(namespace, name string, data map[string][]byte) (okta.Config, error) {
	where := fmt.Sprintf("org Secret %s/%s", namespace, name)
	cfg := okta.Config{OrgURL: strings.TrimSpace(string(data[orgURLKey]))}
	if cfg.OrgURL == "" {
		return cfg, &errSecret{where + " has no " + orgURLKey}
	}
	token, clientID := strings.TrimSpace(string(data[apiTokenKey])), strings.TrimSpace(string(data[clientIDKey]))
	switch {
	case token != "" && clientID != "":
		return cfg, &errSecret{where + ": set apiToken or clientID with privateKey, not both"}
	case token != "":
		cfg.APIToken = token
	case clientID != "":
		if len(data[privateKeyKey]) == 0 {
			return cfg, &errSecret{where + " has clientID but no privateKey"}
		}
		cfg.OAuth = &okta.OAuthConfig{ClientID: clientID, PrivateKeyPEM: data[privateKeyKey], KeyID: string(data[keyIDKey]),
			Scopes: strings.Fields(string(data[scopesKey]))}
	default:
		return cfg, &errSecret{where + " has neither apiToken nor clientID"}
	}
	cfg.CABundle = data[caBundleKey]
	n, err := percentKey(namespace, name, data, maxCapacityKey, 50, 1)
	if err != nil {
		return cfg, err
	}
	cfg.MaxAPICapacityPercent = n
	return cfg, nil
}

// percentKey reads a whole-number percentage key of an org Secret, from min
// to 100, or def when the key is absent.
func percentKey(namespace, name string, data map[string][]byte, key string, def, min int) (int, error) {
	text := strings.TrimSpace(string(data[key]))
	if text == "" {
		return def, nil
	}
	n, err := strconv.Atoi(text)
	if err != nil || n < min || n > 100 {
		return 0, &errSecret{fmt.Sprintf("org Secret %s/%s: %s must be a whole number from %d to 100", namespace, name, key, min)}
	}
	return n, nil
}

// logPoll reads the org Secret's systemLogPollInterval: a Go duration from
// 1s (tests, demos) to 1h, or "0" to follow no System Log.
func logPoll(namespace, name string, data map[string][]byte) (time.Duration, error) {
	text := strings.TrimSpace(string(data[logPollKey]))
	if text == "" {
		return defaultLogPoll, nil
	}
	d, err := time.ParseDuration(text)
	if text == "0" || (err == nil && d == 0) {
		return 0, nil
	}
	if err != nil || d < time.Second || d > time.Hour {
		return 0, &errSecret{fmt.Sprintf("org Secret %s/%s: %s must be a duration from 1s to 1h (such as 1m), or 0 to turn it off", namespace, name, logPollKey)}
	}
	return d, nil
}

// companyID is the org subdomain, the "Okta company ID" SPs ask for.
func companyID(orgURL string) string {
	u, err := url.Parse(orgURL)
	if err != nil {
		return ""
	}
	host := u.Hostname()
	if i := strings.IndexByte(host, '.'); i > 0 && net.ParseIP(host) == nil {
		return host[:i]
	}
	return host
}

// secretValues reads keys of one Secret in the namespace, in order; each
// must be present and non-empty.
func secretValues(ctx context.Context, r client.Reader, namespace, name string, keys ...string) ([][]byte, error) {
	var s corev1.Secret
	if err := r.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, &s); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, &errSecret{fmt.Sprintf("Secret %s/%s not found", namespace, name)}
		}
		return nil, err
	}
	values := make([][]byte, len(keys))
	for i, key := range keys {
		if values[i] = s.Data[key]; len(values[i]) == 0 {
			return nil, &errSecret{fmt.Sprintf("Secret %s/%s has no key %s", namespace, name, key)}
		}
	}
	return values, nil
}

// outboundSecret reads one Secret key the operator sends out of the
// cluster (a SCIM token to the target, a value into SAML assertions). A
// Secret that holds an Okta org's credential is refused, whatever key is
// named: an org Secret of the old form, or a Secret an OktaOrg (or, in the
// operator's namespace, a ClusterOktaOrg) reads. The credential goes
// nowhere but Okta.
func outboundSecret(ctx context.Context, r client.Reader, orgs Orgs, namespace string, ref ssov1.SecretKeySelector, use string) ([]byte, error) {
	var s corev1.Secret
	if err := r.Get(ctx, client.ObjectKey{Namespace: namespace, Name: string(ref.Name)}, &s); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, &errSecret{fmt.Sprintf("%s: Secret %s/%s not found", use, namespace, ref.Name)}
		}
		return nil, err
	}
	holder, err := credentialHolder(ctx, r, orgs, &s)
	if err != nil {
		return nil, err
	}
	if holder != "" {
		return nil, &errInvalidSpec{fmt.Sprintf("%s: Secret %s/%s holds the credential of %s, which goes nowhere but Okta: give %s a Secret of its own (nothing was sent)",
			use, namespace, ref.Name, holder, use)}
	}
	value := s.Data[string(ref.Key)]
	if len(value) == 0 {
		return nil, &errSecret{fmt.Sprintf("%s: Secret %s/%s has no key %s", use, namespace, ref.Name, ref.Key)}
	}
	return value, nil
}

// credentialHolder names the org whose credential the Secret holds, or "".
func credentialHolder(ctx context.Context, r client.Reader, orgs Orgs, s *corev1.Secret) (string, error) {
	if len(s.Data[orgURLKey]) > 0 && (len(s.Data[apiTokenKey]) > 0 || len(s.Data[privateKeyKey]) > 0) {
		return "the org Secret " + s.Name, nil
	}
	var namespaced ssov1.OktaOrgList
	if err := r.List(ctx, &namespaced, client.InNamespace(s.Namespace)); err != nil {
		return "", err
	}
	for _, o := range namespaced.Items {
		if readsSecret(o.Spec, s.Name) {
			return "OktaOrg " + o.Name, nil
		}
	}
	if s.Namespace != orgs.ClusterNamespace() {
		return "", nil
	}
	var cluster ssov1.ClusterOktaOrgList
	if err := r.List(ctx, &cluster); err != nil {
		return "", err
	}
	for _, o := range cluster.Items {
		if readsSecret(o.Spec.OktaOrgSpec, s.Name) {
			return "ClusterOktaOrg " + o.Name, nil
		}
	}
	return "", nil
}

// orgThroughApp reaches Okta through the OktaSAMLApp a binding or a sync
// references, always in the object's own namespace: never another one, so a
// namespace's objects cannot use another team's org Secret. An app that is
// missing or has no Okta app yet is a dependency not ready (the app is
// watched, so its arrival is picked up at once).
func orgThroughApp(ctx context.Context, r client.Reader, orgs Orgs, namespace string, ref ssov1.LocalObjectReference) (*ssov1.OktaSAMLApp, *Org, error) {
	app := &ssov1.OktaSAMLApp{}
	if err := r.Get(ctx, client.ObjectKey{Namespace: namespace, Name: string(ref.Name)}, app); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil, &errDependency{fmt.Sprintf("OktaSAMLApp %s/%s not found: create it, or correct appRef.name", namespace, ref.Name)}
		}
		return nil, nil, err
	}
	if app.Status.AppID == "" || !app.DeletionTimestamp.IsZero() {
		return app, nil, &errDependency{fmt.Sprintf("OktaSAMLApp %s/%s has no app in Okta yet; waiting for it to be Ready", namespace, ref.Name)}
	}
	org, err := orgs.Get(ctx, namespace, app.Spec.OrgRef)
	if err != nil {
		return app, nil, err
	}
	return app, org, nil
}
