package org

// The tenant policy of a ClusterOktaOrg: what the namespaces each rule
// selects may do in the shared org. Okta cannot scope an API credential to
// "team A's apps", so this is the only boundary between teams. Every
// decision here is pure (the rule and what an object asks in, nil or the
// refusal out); the controllers ask before their first Okta write.

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
)

// EveryoneGroup is Okta's built-in group of every user in the org.
const EveryoneGroup = "Everyone"

// DefaultProfileAttributes are the Okta profile attributes an AccountSync
// may read when its rule does not list them.
var DefaultProfileAttributes = []string{"login", "email", "firstName", "lastName", "displayName", "employeeNumber"}

// Tenant is the rule of a ClusterOktaOrg that applies to one namespace. A
// nil Tenant (an OktaOrg, an org Secret: the team's own org) allows all.
type Tenant struct {
	// Org names the ClusterOktaOrg; Namespace the namespace the rule is for.
	Org, Namespace string
	// Rule names the rule, as spec.tenants[i], or "the defaults".
	Rule string
	rule ssov1.TenantRule
}

// PolicyDeniedError is what a tenant rule refuses (PolicyDenied): nothing
// was written to Okta.
type PolicyDeniedError struct{ Msg string }

func (e *PolicyDeniedError) Error() string { return e.Msg }

// TenantFor finds the rule of the org that selects the namespace: the
// first that does, or the defaults. ns carries the labels only when
// NeedsLabels said so. A rule that cannot be read selects nothing, and
// says so: a team must not get the defaults because of a typo in its rule.
func TenantFor(co *ssov1.ClusterOktaOrg, ns *corev1.Namespace) (*Tenant, error) {
	for i, r := range co.Spec.Tenants {
		ok, err := matches(r.NamespaceCondition, ns)
		if err != nil {
			return nil, &NotAllowedError{fmt.Sprintf("ClusterOktaOrg %s has a tenant rule that cannot be read (spec.tenants[%d]: %v): it allows nothing until a cluster admin fixes it", co.Name, i, err)}
		}
		if ok {
			return &Tenant{Org: co.Name, Namespace: ns.Name, Rule: fmt.Sprintf("spec.tenants[%d]", i), rule: r}, nil
		}
	}
	return &Tenant{Org: co.Name, Namespace: ns.Name, Rule: "the defaults"}, nil
}

// tenantsNeedLabels tells whether choosing a rule needs the namespace's
// labels.
func tenantsNeedLabels(rules []ssov1.TenantRule) bool {
	return slices.ContainsFunc(rules, func(r ssov1.TenantRule) bool { return r.NamespaceSelector != nil })
}

// deny makes the refusal: what was asked, the field of the rule that
// refuses it, and what to do. It never names another namespace's objects.
func (t *Tenant) deny(field, asked, remedy string) error {
	return &PolicyDeniedError{fmt.Sprintf("%s is not allowed by %s (%s) of ClusterOktaOrg %s for namespace %s: %s; nothing was written to Okta",
		asked, t.Rule, field, t.Org, t.Namespace, remedy)}
}

func (t *Tenant) askPlatform(what string) string {
	return fmt.Sprintf("change it, or ask the platform team to %s in ClusterOktaOrg %s", what, t.Org)
}

// AllowedTargets are the ranges the rule opens to the namespace's SCIM
// targets.
func (t *Tenant) AllowedTargets() []string {
	if t == nil {
		return nil
	}
	return t.rule.AllowedTargets
}

// Weight is the namespace's share of the org's rate limits (1 when unset).
func (t *Tenant) Weight() int {
	if t == nil || t.rule.Weight < 1 {
		return 1
	}
	return int(t.rule.Weight)
}

// CheckApp decides whether an app spec may be applied: its label, its
// service provider's hosts, its sign-on policy and its deletion policy.
func (t *Tenant) CheckApp(spec *ssov1.OktaSAMLAppSpec) error {
	if t == nil {
		return nil
	}
	if err := t.CheckLabel(spec.Label); err != nil {
		return err
	}
	if err := t.checkHosts(serviceProviderURLs(spec.ServiceProvider)); err != nil {
		return err
	}
	if err := t.checkAuthenticationPolicy(spec.SignOn.AuthenticationPolicy); err != nil {
		return err
	}
	return t.CheckDeletionPolicy(spec.DeletionPolicy)
}

// CheckLabel decides whether an app label may be used: the rule's prefix
// and pattern (an app's, or a tile an identity provider makes).
func (t *Tenant) CheckLabel(label string) error {
	if t == nil {
		return nil
	}
	if prefix := t.expand(t.rule.LabelPrefix, false); !strings.HasPrefix(label, prefix) {
		return t.deny("labelPrefix", fmt.Sprintf("label %q", label), fmt.Sprintf("start it with %q", prefix))
	}
	if t.rule.LabelPattern == "" {
		return nil
	}
	re, err := regexp.Compile("^(?:" + t.expand(t.rule.LabelPattern, true) + ")$")
	if err != nil {
		return t.deny("labelPattern", fmt.Sprintf("label %q", label), "the pattern does not compile; ask the platform team to fix it in ClusterOktaOrg "+t.Org)
	}
	if !re.MatchString(label) {
		return t.deny("labelPattern", fmt.Sprintf("label %q", label), fmt.Sprintf("make it match %s", re))
	}
	return nil
}

// expand puts the namespace's name in place of ${namespace}, quoted for a
// regular expression when asked.
func (t *Tenant) expand(s string, quote bool) string {
	ns := t.Namespace
	if quote {
		ns = regexp.QuoteMeta(ns)
	}
	return strings.ReplaceAll(s, "${namespace}", ns)
}

func (t *Tenant) expandAll(patterns []string) []string {
	out := make([]string, len(patterns))
	for i, p := range patterns {
		out[i] = t.expand(p, false)
	}
	return out
}

// serviceProviderURLs are the URLs of an app's service provider a rule's
// hosts bound, by field; an entityID that is not a URL names no host.
func serviceProviderURLs(sp *ssov1.ServiceProvider) map[string]string {
	urls := map[string]string{}
	if sp == nil {
		return urls
	}
	add := func(field, v string) {
		if v != "" {
			urls[field] = v
		}
	}
	add("serviceProvider.acsURL", string(sp.ACSURL))
	add("serviceProvider.recipient", string(sp.Recipient))
	add("serviceProvider.destination", string(sp.Destination))
	add("serviceProvider.singleLogoutURL", string(sp.SingleLogoutURL))
	for i, a := range sp.AdditionalACSURLs {
		add(fmt.Sprintf("serviceProvider.additionalACSURLs[%d]", i), string(a.URL))
	}
	if u, err := url.Parse(sp.EntityID); err == nil && u.Host != "" {
		add("serviceProvider.entityID", sp.EntityID)
	}
	return urls
}

func (t *Tenant) checkHosts(urls map[string]string) error {
	if len(t.rule.ServiceProviderHosts) == 0 {
		return nil
	}
	fields := make([]string, 0, len(urls))
	for f := range urls {
		fields = append(fields, f)
	}
	slices.Sort(fields)
	for _, f := range fields {
		u, err := url.Parse(urls[f])
		host := ""
		if err == nil {
			host = strings.ToLower(u.Hostname())
		}
		if host == "" || !slices.ContainsFunc(t.rule.ServiceProviderHosts, func(p string) bool { return hostMatches(t.expand(p, false), host) }) {
			return t.deny("serviceProviderHosts", fmt.Sprintf("%s host %q", f, host), t.askPlatform(fmt.Sprintf("allow host %s", host)))
		}
	}
	return nil
}

// hostMatches: an exact host, or *.domain for any host below domain (not
// domain itself), without regard to case.
func hostMatches(pattern, host string) bool {
	pattern = strings.ToLower(strings.TrimSuffix(pattern, "."))
	if suffix, ok := strings.CutPrefix(pattern, "*."); ok {
		return strings.HasSuffix(host, "."+suffix)
	}
	return host == pattern
}

func (t *Tenant) checkAuthenticationPolicy(ref *ssov1.PolicyReference) error {
	if ref == nil {
		return nil // the org's default
	}
	named := ref.Name
	if named == "" {
		named = ref.ID
	}
	if slices.ContainsFunc(t.rule.AuthenticationPolicies, func(p string) bool { return strings.EqualFold(p, named) }) {
		return nil
	}
	return t.deny("authenticationPolicies", fmt.Sprintf("sign-on policy %q", named), t.askPlatform(fmt.Sprintf("allow policy %q", named)))
}

// CheckDeletionPolicy refuses an object asking for another deletion policy
// than the one the rule sets.
func (t *Tenant) CheckDeletionPolicy(p ssov1.DeletionPolicy) error {
	if t == nil || t.rule.DeletionPolicy == "" || p == "" || p == t.rule.DeletionPolicy {
		return nil
	}
	return t.deny("deletionPolicy", fmt.Sprintf("deletionPolicy %s", p), fmt.Sprintf("set deletionPolicy %s, which applies here whatever the object says", t.rule.DeletionPolicy))
}

// DeletionPolicy is what happens in Okta when the object is deleted: the
// rule's when it sets one, else the object's.
func (t *Tenant) DeletionPolicy(asked ssov1.DeletionPolicy) ssov1.DeletionPolicy {
	if t == nil || t.rule.DeletionPolicy == "" {
		return asked
	}
	return t.rule.DeletionPolicy
}

// CheckAdoption refuses adopting an app made by hand unless the rule
// allows it.
func (t *Tenant) CheckAdoption() error {
	if t == nil || t.rule.Adoption == ssov1.Allowed {
		return nil
	}
	return t.deny("adoption", "adopting an app made by hand", t.askPlatform("allow adoption"))
}

// CheckProvisioning decides whether the namespace may connect another
// org's Org2Org app to this org, handing it this org's API token.
func (t *Tenant) CheckProvisioning() error {
	if t == nil || t.rule.Provisioning == ssov1.Allowed {
		return nil
	}
	return t.deny("provisioning.connection.orgRef", "provisioning into this org from an app of another org (its API token would go to that app)",
		t.askPlatform("allow provisioning"))
}

// CheckGroups decides whether the groups named (field says where) may be
// used: a deny pattern wins; Everyone needs an allow entry naming it
// exactly; with allow patterns, one must match.
func (t *Tenant) CheckGroups(field string, names []string) error {
	if t == nil {
		return nil
	}
	var allow, deny []string
	if g := t.rule.Groups; g != nil {
		allow, deny = t.expandAll(g.Allow), t.expandAll(g.Deny)
	}
	for _, name := range names {
		refused := slices.ContainsFunc(deny, func(p string) bool { return globMatches(p, name) })
		if strings.EqualFold(name, EveryoneGroup) {
			refused = refused || !slices.ContainsFunc(allow, func(p string) bool { return strings.EqualFold(p, EveryoneGroup) })
		} else if len(allow) > 0 {
			refused = refused || !slices.ContainsFunc(allow, func(p string) bool { return globMatches(p, name) })
		}
		if refused {
			return t.deny("groups", fmt.Sprintf("%s group %q", field, name), t.askPlatform(fmt.Sprintf("allow group %q", name)))
		}
	}
	return nil
}

// globMatches matches a name against a pattern where * is any text,
// without regard to case.
func globMatches(pattern, name string) bool {
	pattern, name = strings.ToLower(pattern), strings.ToLower(name)
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == name
	}
	if !strings.HasPrefix(name, parts[0]) {
		return false
	}
	name = name[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, part := range parts[1 : len(parts)-1] {
		i := strings.Index(name, part)
		if i < 0 {
			return false
		}
		name = name[i+len(part):]
	}
	return strings.HasSuffix(name, last)
}

// CheckDirectUsers refuses users bound by login when the rule denies it.
func (t *Tenant) CheckDirectUsers(logins []string) error {
	if t == nil || len(logins) == 0 || t.rule.DirectUsers != ssov1.Denied {
		return nil
	}
	return t.deny("directUsers", fmt.Sprintf("binding user %q directly", logins[0]), "bind a group the user is in instead")
}

// CheckIdentityProvider decides whether an identity provider may be made:
// only where the rule allows it, and then auto-link only limited to groups
// and JIT only into groups, all of them allowed.
func (t *Tenant) CheckIdentityProvider(spec *ssov1.OktaSAMLIdentityProviderSpec) error {
	if t == nil {
		return nil
	}
	if t.rule.IdentityProviders != ssov1.Allowed {
		return t.deny("identityProviders", "an identity provider", t.askPlatform("allow identityProviders"))
	}
	if spec.AccountLink.Policy == ssov1.AccountLinkAuto {
		if len(spec.AccountLink.Groups) == 0 {
			return t.deny("identityProviders", "auto-link to every user", "limit accountLink to groups with accountLink.groups")
		}
		if err := t.CheckGroups("accountLink.groups", spec.AccountLink.Groups); err != nil {
			return err
		}
	}
	if spec.Provisioning.IfNoMatch != ssov1.IfNoMatchRedirect {
		if len(spec.Provisioning.Groups) == 0 {
			return t.deny("identityProviders", "creating users just in time outside any group", "name the groups new users join in provisioning.groups")
		}
		return t.CheckGroups("provisioning.groups", spec.Provisioning.Groups)
	}
	return nil
}

// CheckAccountSync decides whether a sync may run: allowed at all, reading
// only the profile attributes the rule lists (read is what its match and
// mappings read; nil is the whole profile), pushing only allowed groups.
func (t *Tenant) CheckAccountSync(read map[string]bool, pushed []string) error {
	if t == nil {
		return nil
	}
	rule := t.rule.AccountSync
	if rule != nil && rule.Allowed != nil && !*rule.Allowed {
		return t.deny("accountSync.allowed", "an AccountSync", t.askPlatform("allow accountSync"))
	}
	allowed := DefaultProfileAttributes
	if rule != nil && len(rule.ProfileAttributes) > 0 {
		allowed = rule.ProfileAttributes
	}
	if read == nil {
		return t.deny("accountSync.profileAttributes", "reading the whole Okta profile", "read attributes by name (user.email), from "+strings.Join(allowed, ", "))
	}
	names := make([]string, 0, len(read))
	for name := range read {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if !slices.Contains(allowed, name) {
			return t.deny("accountSync.profileAttributes", fmt.Sprintf("reading Okta profile attribute %q", name), t.askPlatform(fmt.Sprintf("allow attribute %s", name)))
		}
	}
	return t.CheckGroups("groupPush", pushed)
}

// Kinds a limit counts.
const (
	LimitApps         = "apps"
	LimitBindings     = "bindings"
	LimitAccountSyncs = "accountSyncs"
)

// CheckLimit refuses the object at position (0 for the oldest) among the
// namespace's objects of a kind in the org, when the rule's limit for the
// kind is reached.
func (t *Tenant) CheckLimit(kind string, position int) error {
	if t == nil || t.rule.Limits == nil {
		return nil
	}
	var limit *int32
	switch kind {
	case LimitApps:
		limit = t.rule.Limits.Apps
	case LimitBindings:
		limit = t.rule.Limits.Bindings
	case LimitAccountSyncs:
		limit = t.rule.Limits.AccountSyncs
	}
	if limit == nil || position < int(*limit) {
		return nil
	}
	return t.deny("limits."+kind, fmt.Sprintf("one more of the %d %s allowed", *limit, kind), "delete one, or "+t.askPlatform("raise limits."+kind))
}

// HasLimit tells whether the rule limits a kind, so a caller counts only then.
func (t *Tenant) HasLimit(kind string) bool {
	return t != nil && t.CheckLimit(kind, 1<<30) != nil
}
