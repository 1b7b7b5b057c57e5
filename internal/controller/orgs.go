package controller

import (
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
	"sigs.k8s.io/controller-runtime/pkg/client"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
	"github.com/oktaop/okta-sso-operator/internal/okta"
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
	// LogPoll is how often the org's System Log is followed for its
	// AccountSyncs between full runs; 0 when the org Secret turns it off.
	LogPoll time.Duration
}

// Orgs gives the Okta org an object's org Secret names.
type Orgs interface {
	Get(ctx context.Context, namespace, secretName string) (*Org, error)
}

// SecretOrgs reads org Secrets and keeps one client per Secret version, so
// that a token is cached across reconciles and a changed Secret takes
// effect at once. Every client of an org shares the org's rate-limit budget.
type SecretOrgs struct {
	Reader client.Reader
	// Now is the clock clients use; time.Now when nil.
	Now func() time.Time
	// Configure adjusts each client's config (tests set retry delays).
	Configure func(*okta.Config)

	mu      sync.Mutex
	clients map[string]*Org // namespace/name@resourceVersion
}

func (o *SecretOrgs) Get(ctx context.Context, namespace, secretName string) (*Org, error) {
	var s corev1.Secret
	if err := o.Reader.Get(ctx, client.ObjectKey{Namespace: namespace, Name: secretName}, &s); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, &errSecret{fmt.Sprintf("org Secret %s/%s not found: create it with orgURL and apiToken (or clientID and privateKey)", namespace, secretName)}
		}
		return nil, err
	}
	key := namespace + "/" + secretName + "@" + s.ResourceVersion
	o.mu.Lock()
	defer o.mu.Unlock()
	if org, ok := o.clients[key]; ok {
		return org, nil
	}
	cfg, err := orgConfig(namespace, secretName, s.Data)
	if err != nil {
		return nil, err
	}
	cfg.Now = o.Now
	if o.Configure != nil {
		o.Configure(&cfg)
	}
	c, err := okta.New(cfg)
	if err != nil {
		return nil, &errSecret{fmt.Sprintf("org Secret %s/%s: %v", namespace, secretName, err)}
	}
	maxDeactivations, err := percentKey(namespace, secretName, s.Data, maxOrgDeactivations, 20, 0)
	if err != nil {
		return nil, err
	}
	poll, err := logPoll(namespace, secretName, s.Data)
	if err != nil {
		return nil, err
	}
	org := &Org{Client: c, URL: c.OrgURL(), CompanyID: companyID(c.OrgURL()), MaxDeactivationPercent: maxDeactivations, LogPoll: poll}
	if o.clients == nil {
		o.clients = map[string]*Org{}
	}
	for k := range o.clients { // drop the client of an older Secret version
		if strings.HasPrefix(k, namespace+"/"+secretName+"@") {
			delete(o.clients, k)
		}
	}
	o.clients[key] = org
	return org, nil
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
	org, err := orgs.Get(ctx, namespace, string(app.Spec.OrgRef.SecretName))
	if err != nil {
		return app, nil, err
	}
	return app, org, nil
}
