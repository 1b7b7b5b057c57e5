// Package org owns how an object reaches its Okta org: resolving an orgRef
// (a ClusterOktaOrg, an OktaOrg, or a deprecated org Secret) to a client,
// its budget and settings; which namespaces a ClusterOktaOrg allows; the
// stricter settings where several org objects name one org; keeping org
// credentials from going anywhere but Okta; and the watches every kind uses
// to retry when its org changes. Controllers never read an org Secret or a
// URL themselves.
package org

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"net/url"
	"slices"
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

// DefaultSweep is the safety sweep's period when the org object does not
// set driftSweepInterval (and for org Secrets).
const DefaultSweep = 24 * time.Hour

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
	// LogPoll is how often the org's System Log is followed (for the
	// AccountSyncs' users and for changes made in Okta to the objects the
	// operator keeps); 0 when the org object or Secret turns it off.
	LogPoll time.Duration
	// Sweep is the period of the safety sweep, in which every object of
	// the org is read in full once, while the log is followed.
	Sweep time.Duration
	// Tenant is the rule of a ClusterOktaOrg's tenant policy for the
	// object's namespace; nil for a team's own org (OktaOrg, org Secret).
	Tenant *Tenant
	// Targets is where URLs the namespace chose (SCIM targets) may connect.
	Targets *Targets
}

// Scope marks the requests made with ctx as the namespace's, with its
// weight in the tenant policy (1 in a team's own org), so that the org's
// rate limits are shared fairly between namespaces and counted by each.
func (o *Org) Scope(ctx context.Context, namespace string) context.Context {
	return okta.WithShare(ctx, namespace, o.Tenant.Weight())
}

// Orgs gives the Okta org an object's orgRef names, from its namespace.
type Orgs interface {
	Get(ctx context.Context, namespace string, ref ssov1.OrgReference) (*Org, error)
	// ClusterNamespace is where ClusterOktaOrgs' credential Secrets live.
	ClusterNamespace() string
	// HubByOrg reads the hub an Org2Org app's provisioning connection names.
	HubByOrg(ctx context.Context, namespace string, ref ssov1.OrgReference) (*Hub, error)
}

// Resolver resolves an orgRef: a ClusterOktaOrg (if its conditions allow
// the namespace; its credential Secrets in ClusterResourceNamespace), an
// OktaOrg in the namespace, or a deprecated org Secret in the namespace. It
// keeps one client per version of the org object and its Secrets, so that
// a token is cached across reconciles and a change takes effect at once.
// Every client of an org shares the org's rate-limit budget (one per
// canonical URL).
type Resolver struct {
	Reader client.Reader
	// ClusterResourceNamespace holds the credential Secrets of
	// ClusterOktaOrgs: the operator's own namespace.
	ClusterResourceNamespace string
	// Now is the clock clients use; time.Now when nil.
	Now func() time.Time
	// Configure adjusts each client's config (tests set retry delays).
	Configure func(*okta.Config)
	// Egress checks the connections made to URLs a namespace chose; nil
	// refuses every address outside the public internet.
	Egress *Egress

	mu      sync.Mutex
	clients map[string]*Org // what@version
}

// ClusterNamespace is where ClusterOktaOrgs' credential Secrets live.
func (o *Resolver) ClusterNamespace() string { return o.ClusterResourceNamespace }

// Get resolves the orgRef. An org object's org gets the stricter settings
// of every org object that names the same org (withAppliedLimit); an org
// Secret of the old form keeps its own safeguard, and shares the org
// objects' budget share when they name its org.
func (o *Resolver) Get(ctx context.Context, namespace string, ref ssov1.OrgReference) (*Org, error) {
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
		return withApplied(ctx, o.Reader, org, false)
	}
	if err != nil {
		return nil, err
	}
	return withApplied(ctx, o.Reader, org, true)
}

// Object is a kind that names an org: what WarnDeprecated reads of it.
type Object interface {
	client.Object
	GetCommonStatus() *ssov1.CommonStatus
}

// WarnDeprecated says, once per generation, that an org Secret in
// the namespace is the deprecated way to name the org, and what to write.
func WarnDeprecated(recorder record.EventRecorder, obj Object, ref ssov1.OrgReference) {
	if ref.SecretName == "" || obj.GetCommonStatus().ObservedGeneration == obj.GetGeneration() {
		return
	}
	recorder.Event(obj, corev1.EventTypeWarning, ssov1.DeprecatedReason, fmt.Sprintf("orgRef.secretName keeps the Okta org's credential in this namespace and goes in a later release: "+
		"name a ClusterOktaOrg the platform team offers (kubectl get clusteroktaorgs) or an OktaOrg here instead, as orgRef: {kind: ClusterOktaOrg, name: NAME}; Secret %s keeps working until then", ref.SecretName))
}

// Key names the org object an orgRef points at, for lanes and caches.
func Key(namespace string, ref ssov1.OrgReference) string {
	switch ref.Kind {
	case ssov1.OrgKindCluster:
		return "ClusterOktaOrg/" + string(ref.Name)
	case ssov1.OrgKindNamespaced:
		return namespace + "/OktaOrg/" + string(ref.Name)
	}
	return namespace + "/" + string(ref.SecretName)
}

func (o *Resolver) clusterOrg(ctx context.Context, namespace, name string) (*Org, error) {
	co := &ssov1.ClusterOktaOrg{}
	if err := o.Reader.Get(ctx, client.ObjectKey{Name: name}, co); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, &DependencyError{fmt.Sprintf("ClusterOktaOrg %s not found: kubectl get clusteroktaorgs lists the orgs the platform offers", name)}
		}
		return nil, err
	}
	tenant, err := o.allowed(ctx, co, namespace)
	if err != nil {
		return nil, err
	}
	shared, err := o.FromSpec(ctx, "ClusterOktaOrg "+name, o.ClusterResourceNamespace, co.Spec.OktaOrgSpec, "ClusterOktaOrg/"+name+"@"+SpecVersion(co), false)
	if err != nil {
		return nil, err
	}
	org := *shared // one client for every namespace; the rule and the targets are this one's
	org.Tenant = tenant
	where := "ClusterOktaOrg " + name + " (spec.allowedTargets, or " + tenant.Rule + ".allowedTargets)"
	if org.Targets, err = o.egress().Targets(append(slices.Clone(co.Spec.AllowedTargets), tenant.AllowedTargets()...), true, where); err != nil {
		return nil, err
	}
	return &org, nil
}

func (o *Resolver) namespacedOrg(ctx context.Context, namespace, name string) (*Org, error) {
	oo := &ssov1.OktaOrg{}
	if err := o.Reader.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, oo); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, &DependencyError{fmt.Sprintf("OktaOrg %s/%s not found: create it, or correct orgRef.name", namespace, name)}
		}
		return nil, err
	}
	return o.FromSpec(ctx, "OktaOrg "+namespace+"/"+name, namespace, oo.Spec, namespace+"/OktaOrg/"+name+"@"+SpecVersion(oo), true)
}

// egress is the connection check; a strict one when none was set.
func (o *Resolver) egress() *Egress {
	if o.Egress == nil {
		return strictEgress
	}
	return o.Egress
}

var strictEgress = &Egress{}

// SpecVersion names the version of an org object's spec: its status and
// metadata change often (the org's own status is written on every check),
// and a new client there would fetch a new token each time.
func SpecVersion(o client.Object) string {
	return fmt.Sprintf("%s.%d", o.GetUID(), o.GetGeneration())
}

// allowed refuses a namespace the ClusterOktaOrg's conditions do not name,
// before anything is read of its credential or sent to Okta, and finds the
// tenant rule that applies to it.
func (o *Resolver) allowed(ctx context.Context, co *ssov1.ClusterOktaOrg, namespace string) (*Tenant, error) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}
	if NeedsLabels(co.Spec.Conditions) || tenantsNeedLabels(co.Spec.Tenants) {
		if err := o.Reader.Get(ctx, client.ObjectKey{Name: namespace}, ns); err != nil {
			return nil, err
		}
	}
	ok, err := Allows(co.Spec.Conditions, ns)
	if err != nil {
		return nil, &NotAllowedError{fmt.Sprintf("ClusterOktaOrg %s has a condition that cannot be read (%v): it allows no namespace until a cluster admin fixes it", co.Name, err)}
	}
	if !ok {
		return nil, &NotAllowedError{fmt.Sprintf("namespace %s may not use ClusterOktaOrg %s: it is not in the org's spec.conditions, which a cluster admin can change; nothing was sent to Okta", namespace, co.Name)}
	}
	return TenantFor(co, ns)
}

// FromSpec builds the org an org object describes; its credential is read
// from Secrets in secretNamespace. version names the object's version; the
// Secrets' versions are added to it. A team's org (an OktaOrg) names its
// URL itself, so the client connects only where its allowedTargets say;
// a ClusterOktaOrg's URL is the platform's own.
func (o *Resolver) FromSpec(ctx context.Context, what, secretNamespace string, spec ssov1.OktaOrgSpec, version string, teamOwned bool) (*Org, error) {
	cfg := okta.Config{OrgURL: string(spec.URL), CABundle: []byte(spec.CABundle), MaxAPICapacityPercent: int(cmp.Or(spec.MaxAPICapacityPercent, 50))}
	targets, err := o.egress().Targets(spec.AllowedTargets, !teamOwned, what+" (spec.allowedTargets)")
	if err != nil {
		return nil, err
	}
	if teamOwned {
		cfg.Dial = targets.DialContext
	}
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
		return nil, &InvalidError{what + " has no credentials"}
	}
	deactivations, poll := int32(20), defaultLogPoll
	if spec.MaxOrgDeactivationPercent != nil {
		deactivations = *spec.MaxOrgDeactivationPercent
	}
	if spec.SystemLogPollInterval != nil {
		poll = spec.SystemLogPollInterval.Duration
	}
	sweep := DefaultSweep
	if spec.DriftSweepInterval != nil {
		sweep = spec.DriftSweepInterval.Duration
	}
	return o.cached(what, version, func() (*Org, error) { return o.newOrg(what, cfg, int(deactivations), poll, sweep, targets) })
}

// credential reads one key of a credential Secret, and the Secret's version;
// errors name the Secret and key, never a value.
func credential(ctx context.Context, r client.Reader, what, namespace string, ref ssov1.SecretKeySelector) ([]byte, string, error) {
	var s corev1.Secret
	if err := r.Get(ctx, client.ObjectKey{Namespace: namespace, Name: string(ref.Name)}, &s); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, "", &SecretError{fmt.Sprintf("%s: credential Secret %s/%s not found", what, namespace, ref.Name)}
		}
		return nil, "", err
	}
	if len(s.Data[string(ref.Key)]) == 0 {
		return nil, "", &SecretError{fmt.Sprintf("%s: credential Secret %s/%s has no key %s", what, namespace, ref.Name, ref.Key)}
	}
	return s.Data[string(ref.Key)], s.ResourceVersion, nil
}

// cached returns the org built for this version of what, building it once;
// an older version's client is dropped.
func (o *Resolver) cached(what, version string, build func() (*Org, error)) (*Org, error) {
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
func (o *Resolver) newOrg(what string, cfg okta.Config, maxDeactivations int, poll, sweep time.Duration, targets *Targets) (*Org, error) {
	cfg.Now = o.Now
	if o.Configure != nil {
		o.Configure(&cfg)
	}
	c, err := okta.New(cfg)
	if err != nil {
		return nil, &SecretError{fmt.Sprintf("%s: %v", what, err)}
	}
	return &Org{Client: c, URL: c.OrgURL(), CompanyID: companyID(c.OrgURL()), MaxDeactivationPercent: maxDeactivations, LogPoll: poll, Sweep: sweep,
		CapacityPercent: cmp.Or(cfg.MaxAPICapacityPercent, okta.DefaultCapacityPercent), Targets: targets}, nil
}

// secretOrg reads a deprecated org Secret in the namespace.
func (o *Resolver) secretOrg(ctx context.Context, namespace, secretName string) (*Org, error) {
	var s corev1.Secret
	if err := o.Reader.Get(ctx, client.ObjectKey{Namespace: namespace, Name: secretName}, &s); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, &SecretError{fmt.Sprintf("org Secret %s/%s not found: create it with orgURL and apiToken (or clientID and privateKey)", namespace, secretName)}
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
		targets, err := o.egress().Targets(nil, false, "an OktaOrg (an org Secret cannot list any)")
		if err != nil {
			return nil, err
		}
		cfg.Dial = targets.DialContext
		return o.newOrg(what, cfg, maxDeactivations, poll, DefaultSweep, targets)
	})
}

// orgConfig reads an org Secret; errors name the key, never its value.
func orgConfig(namespace, name string, data map[string][]byte) (okta.Config, error) {
	where := fmt.Sprintf("org Secret %s/%s", namespace, name)
	cfg := okta.Config{OrgURL: strings.TrimSpace(string(data[orgURLKey]))}
	if cfg.OrgURL == "" {
		return cfg, &SecretError{where + " has no " + orgURLKey}
	}
	token, clientID := strings.TrimSpace(string(data[apiTokenKey])), strings.TrimSpace(string(data[clientIDKey]))
	switch {
	case token != "" && clientID != "":
		return cfg, &SecretError{where + ": set apiToken or clientID with privateKey, not both"}
	case token != "":
		cfg.APIToken = token
	case clientID != "":
		if len(data[privateKeyKey]) == 0 {
			return cfg, &SecretError{where + " has clientID but no privateKey"}
		}
		cfg.OAuth = &okta.OAuthConfig{ClientID: clientID, PrivateKeyPEM: data[privateKeyKey], KeyID: string(data[keyIDKey]),
			Scopes: strings.Fields(string(data[scopesKey]))}
	default:
		return cfg, &SecretError{where + " has neither apiToken nor clientID"}
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
		return 0, &SecretError{fmt.Sprintf("org Secret %s/%s: %s must be a whole number from %d to 100", namespace, name, key, min)}
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
		return 0, &SecretError{fmt.Sprintf("org Secret %s/%s: %s must be a duration from 1s to 1h (such as 1m), or 0 to turn it off", namespace, name, logPollKey)}
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
