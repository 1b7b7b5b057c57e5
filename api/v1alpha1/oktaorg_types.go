package v1alpha1

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// OrgKind names the kind of an org object an orgRef points at.
// +kubebuilder:validation:Enum=ClusterOktaOrg;OktaOrg
type OrgKind string

// Org kinds.
const (
	// OrgKindCluster is a ClusterOktaOrg: the platform's, for the namespaces
	// its conditions allow.
	OrgKindCluster OrgKind = "ClusterOktaOrg"
	// OrgKindNamespaced is an OktaOrg in the object's own namespace.
	OrgKindNamespaced OrgKind = "OktaOrg"
)

// OrgCredentials is how the operator signs in to Okta: exactly one of an
// API token and an OAuth 2.0 service app.
// +kubebuilder:validation:XValidation:rule="has(self.apiToken) != has(self.oauth)",message="set exactly one of apiToken and oauth"
type OrgCredentials struct {
	// APIToken is the Secret key holding an SSWS API token.
	// +optional
	APIToken *SecretKeySelector `json:"apiToken,omitempty"`
	// OAuth is an OAuth 2.0 service app (private_key_jwt).
	// +optional
	OAuth *OAuthCredentials `json:"oauth,omitempty"`
}

// OAuthCredentials is an Okta API service app signing its token requests
// with a private key (private_key_jwt).
type OAuthCredentials struct {
	// ClientID of the service app.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=100
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9_-]+$`
	// +required
	ClientID string `json:"clientID"`
	// PrivateKey is the Secret key holding the PEM private key.
	// +required
	PrivateKey SecretKeySelector `json:"privateKey"`
	// KeyID is the key's kid in the service app, when it has several.
	// +kubebuilder:validation:MaxLength=100
	// +optional
	KeyID string `json:"keyID,omitempty"`
	// Scopes requested; the operator's full set when empty.
	// +kubebuilder:validation:MaxItems=50
	// +listType=set
	// +optional
	Scopes []string `json:"scopes,omitempty"`
}

// OktaOrgSpec is one Okta org and how to reach it.
type OktaOrgSpec struct {
	// URL of the org, such as https://acme.okta.com. Its canonical form
	// (lowercase host, no default port, no trailing slash) is the org's
	// identity: one rate-limit budget per org, whatever the spelling.
	// +required
	URL URL `json:"url"`

	// Credentials: an API token, or an OAuth 2.0 service app. The Secrets
	// are in the operator's own namespace for a ClusterOktaOrg, in the
	// object's namespace for an OktaOrg.
	// +required
	Credentials OrgCredentials `json:"credentials"`

	// CABundle is PEM certificates to trust for the org instead of the
	// system roots (a local org, a TLS-inspecting proxy).
	// +kubebuilder:validation:MaxLength=65536
	// +optional
	CABundle string `json:"caBundle,omitempty"`

	// MaxAPICapacityPercent is the share of each of Okta's rate-limit
	// buckets the operator may use, so it never starves the org's other
	// clients.
	// +kubebuilder:default=50
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	// +optional
	MaxAPICapacityPercent int32 `json:"maxAPICapacityPercent,omitempty"`

	// MaxOrgDeactivationPercent is the org-level import safeguard: the
	// share of accounts all AccountSyncs of this org may deactivate in a
	// rolling 24 hours.
	// +kubebuilder:default=20
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	// +optional
	MaxOrgDeactivationPercent *int32 `json:"maxOrgDeactivationPercent,omitempty"`

	// SystemLogPollInterval is how often the org's System Log is followed,
	// for AccountSyncs between full runs and for changes made in Okta to
	// the apps, assignments and identity providers the operator keeps; from
	// 1s to 1h; 0s turns it off.
	// +kubebuilder:default="1m"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +kubebuilder:validation:XValidation:rule="duration(self) == duration('0s') || (duration(self) >= duration('1s') && duration(self) <= duration('1h'))",message="must be 0s (off) or from 1s to 1h"
	// +optional
	SystemLogPollInterval *metav1.Duration `json:"systemLogPollInterval,omitempty"`

	// DriftSweepInterval is how often every object of the org is read in
	// full while the System Log is followed: a safety net, spread evenly
	// over the period, behind the log, which finds changes made in Okta
	// within a poll. With following off (systemLogPollInterval 0s) each
	// object is read every spec.interval instead. From 1h to 168h.
	// +kubebuilder:default="24h"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1h') && duration(self) <= duration('168h')",message="must be from 1h to 168h"
	// +optional
	DriftSweepInterval *metav1.Duration `json:"driftSweepInterval,omitempty"`

	// EventHookSecretRef selects the Secret key holding the secret Okta's
	// event hook for this org sends (in the manager's --event-hook-header):
	// deliveries for the org's host are accepted with it and no other. The
	// Secret is in the operator's namespace for a ClusterOktaOrg, in the
	// object's namespace for an OktaOrg; where a ClusterOktaOrg names the
	// host with one, an OktaOrg's is not taken. Without any, the manager's
	// --event-hook-secret-file is the secret. Like the credential, it goes
	// nowhere but the comparison.
	// +optional
	EventHookSecretRef *SecretKeySelector `json:"eventHookSecretRef,omitempty"`

	// AllowedTargets are addresses and CIDR ranges outside the public
	// internet that URLs chosen in a namespace (SCIM targets; an OktaOrg's
	// own URL) may connect to: a SCIM target on the private network, for
	// example. Everything else private, link-local (the cloud's metadata
	// service) or in the cluster's pod and service ranges is refused when
	// the connection is made. An OktaOrg may open private ranges outside
	// the cluster only; a ClusterOktaOrg may open any (for every namespace
	// it allows; spec.tenants[].allowedTargets for some). Loopback is never
	// opened here: only the manager's --allow-loopback-targets does.
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MaxLength=43
	// +kubebuilder:validation:items:XValidation:rule="isCIDR(self) || isIP(self)",message="must be an IP address or a CIDR range such as 10.20.0.0/16"
	// +listType=set
	// +optional
	AllowedTargets []string `json:"allowedTargets,omitempty"`
}

// NamespaceCondition selects namespaces; a namespace matches when it
// matches any of the fields set.
type NamespaceCondition struct {
	// Namespaces by name.
	// +kubebuilder:validation:MaxItems=1000
	// +listType=set
	// +optional
	Namespaces []string `json:"namespaces,omitempty"`
	// NamespaceRegexes are regular expressions (RE2) matched anywhere in a
	// namespace's name, as External Secrets does: anchor them (^team-).
	// +kubebuilder:validation:MaxItems=100
	// +listType=set
	// +optional
	NamespaceRegexes []string `json:"namespaceRegexes,omitempty"`
	// NamespaceSelector selects namespaces by label. Teams can often label
	// their own namespace: prefer names for a strict grant.
	// +optional
	NamespaceSelector *metav1.LabelSelector `json:"namespaceSelector,omitempty"`
}

// ClusterOktaOrgSpec is an OktaOrgSpec and the namespaces that may use it.
type ClusterOktaOrgSpec struct {
	OktaOrgSpec `json:",inline"`

	// Conditions say which namespaces may use this org: a namespace
	// matching any entry may. None means every namespace may, as External
	// Secrets' ClusterSecretStore does.
	// +kubebuilder:validation:MaxItems=100
	// +optional
	Conditions []NamespaceCondition `json:"conditions,omitempty"`

	// Tenants say what the namespaces each rule selects may do in the org
	// (a tenant policy, as Argo CD's AppProject): the first rule that
	// selects a namespace applies; a namespace the conditions allow and no
	// rule selects gets the defaults (see TenantRule), and so does what a
	// rule leaves out.
	// +kubebuilder:validation:MaxItems=100
	// +optional
	Tenants []TenantRule `json:"tenants,omitempty"`
}

// Permission is Allowed or Denied.
// +kubebuilder:validation:Enum=Allowed;Denied
type Permission string

// Permissions.
const (
	Allowed Permission = "Allowed"
	Denied  Permission = "Denied"
)

// TenantRule is what the namespaces it selects may do in a shared org. A
// field left out takes the default: labels and service provider hosts
// unrestricted; every group but Everyone; users bound directly allowed;
// only the org's default sign-on policy; identity providers and adoption
// denied; AccountSync allowed with the small attribute set; deletion
// policy as each object says; no limits; weight 1.
// +kubebuilder:validation:XValidation:rule="has(self.namespaces) || has(self.namespaceRegexes) || has(self.namespaceSelector)",message="select namespaces with namespaces, namespaceRegexes or namespaceSelector"
type TenantRule struct {
	NamespaceCondition `json:",inline"`

	// LabelPrefix is what every app label must start with; ${namespace} is
	// the namespace's name, so "${namespace} · " makes team-a's tiles read
	// "team-a · ...".
	// +kubebuilder:validation:MaxLength=100
	// +optional
	LabelPrefix string `json:"labelPrefix,omitempty"`
	// LabelPattern is a regular expression (RE2) every app label must match
	// in full; ${namespace} is the namespace's name, quoted.
	// +kubebuilder:validation:MaxLength=256
	// +optional
	LabelPattern string `json:"labelPattern,omitempty"`
	// ServiceProviderHosts are the hosts an app's acsURL, additional ACS
	// URLs, entityID (when a URL), recipient, destination and
	// singleLogoutURL may name: exact, or *.example.com for any subdomain;
	// ${namespace} is the namespace's name. Unrestricted when empty.
	// +kubebuilder:validation:MaxItems=100
	// +listType=set
	// +optional
	ServiceProviderHosts []string `json:"serviceProviderHosts,omitempty"`
	// Groups are the Okta groups SSOBinding subjects, AccountSync group
	// push and identity provider auto-link and JIT may name.
	// +optional
	Groups *GroupRule `json:"groups,omitempty"`
	// DirectUsers says whether SSOBindings may bind users by login.
	// +optional
	DirectUsers Permission `json:"directUsers,omitempty"`
	// AuthenticationPolicies are the sign-on policies, by name or ID, an
	// app may attach; only the org's default when empty.
	// +kubebuilder:validation:MaxItems=100
	// +listType=set
	// +optional
	AuthenticationPolicies []string `json:"authenticationPolicies,omitempty"`
	// IdentityProviders says whether OktaSAMLIdentityProviders may be made
	// in the org; when Allowed, auto-link must name the groups it is
	// limited to and JIT the groups new users join. Denied when empty.
	// +optional
	IdentityProviders Permission `json:"identityProviders,omitempty"`
	// Adoption says whether an object may adopt an app made by hand (the
	// sso.oktaop.io/adopt annotation). Denied when empty.
	// +optional
	Adoption Permission `json:"adoption,omitempty"`
	// AccountSync says whether AccountSyncs may run and which Okta profile
	// attributes their match and mappings may read.
	// +optional
	AccountSync *AccountSyncRule `json:"accountSync,omitempty"`
	// DeletionPolicy, when set, is what happens in Okta when an object is
	// deleted, whatever the object says; an object asking otherwise is
	// refused, so the difference shows.
	// +optional
	DeletionPolicy DeletionPolicy `json:"deletionPolicy,omitempty"`
	// Limits are the most objects of each kind a namespace may have in the
	// org; the oldest are served first.
	// +optional
	Limits *TenantLimits `json:"limits,omitempty"`
	// Provisioning is whether the namespaces may connect an Org2Org app of
	// another org to this org (an OktaSAMLApp's provisioning.connection.
	// orgRef): that hands this org's API token to the other org's app,
	// which then creates and deactivates users here. Denied by default.
	// +optional
	Provisioning Permission `json:"provisioning,omitempty"`
	// AllowedTargets are addresses and CIDR ranges outside the public
	// internet the namespaces this rule selects may send SCIM to (besides
	// the org's spec.allowedTargets): private, link-local or the cluster's
	// own ranges. Loopback is opened only by the manager's
	// --allow-loopback-targets.
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MaxLength=43
	// +kubebuilder:validation:items:XValidation:rule="isCIDR(self) || isIP(self)",message="must be an IP address or a CIDR range such as 10.20.0.0/16"
	// +listType=set
	// +optional
	AllowedTargets []string `json:"allowedTargets,omitempty"`
	// Weight is the namespace's share of the org's rate limits against the
	// other namespaces that use the org at the same time.
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	// +optional
	Weight int32 `json:"weight,omitempty"`
}

// GroupRule is which Okta group names may be used, as patterns where *
// stands for any text and ${namespace} for the namespace's name, matched
// without regard to case. A deny wins; Everyone (Okta's built-in group) is
// denied unless allow names it exactly.
type GroupRule struct {
	// Allow lists the patterns of the groups allowed; every group when empty.
	// +kubebuilder:validation:MaxItems=100
	// +listType=set
	// +optional
	Allow []string `json:"allow,omitempty"`
	// Deny lists the patterns of the groups refused.
	// +kubebuilder:validation:MaxItems=100
	// +listType=set
	// +optional
	Deny []string `json:"deny,omitempty"`
}

// AccountSyncRule is what AccountSyncs may do.
type AccountSyncRule struct {
	// Allowed says whether AccountSyncs may run; true when unset.
	// +optional
	Allowed *bool `json:"allowed,omitempty"`
	// ProfileAttributes are the Okta profile attributes a sync's match and
	// mappings may read; login, email, firstName, lastName, displayName and
	// employeeNumber when empty. A sync always reads login.
	// +kubebuilder:validation:MaxItems=200
	// +listType=set
	// +optional
	ProfileAttributes []string `json:"profileAttributes,omitempty"`
}

// TenantLimits are the most objects of each kind a namespace may have.
type TenantLimits struct {
	// Apps is the most OktaSAMLApps.
	// +kubebuilder:validation:Minimum=0
	// +optional
	Apps *int32 `json:"apps,omitempty"`
	// Bindings is the most SSOBindings.
	// +kubebuilder:validation:Minimum=0
	// +optional
	Bindings *int32 `json:"bindings,omitempty"`
	// AccountSyncs is the most AccountSyncs.
	// +kubebuilder:validation:Minimum=0
	// +optional
	AccountSyncs *int32 `json:"accountSyncs,omitempty"`
}

// AuthMethod is how the operator signs in to Okta.
type AuthMethod string

// Auth methods.
const (
	AuthMethodAPIToken AuthMethod = "APIToken"
	AuthMethodOAuth    AuthMethod = "OAuth"
)

// OrgUsage counts what uses an org.
type OrgUsage struct {
	// Namespaces with at least one object that uses the org.
	Namespaces int32 `json:"namespaces"`
	// Objects (OktaSAMLApps and OktaSAMLIdentityProviders) that use it.
	Objects int32 `json:"objects"`
}

// BucketStatus is one rate-limit bucket as Okta last reported it.
type BucketStatus struct {
	// Bucket is the endpoint family, such as /api/v1/apps.
	Bucket string `json:"bucket"`
	// Limit is requests per window.
	Limit int32 `json:"limit"`
	// Remaining is what was left in the window.
	Remaining int32 `json:"remaining"`
	// Reset is when the window ends.
	Reset metav1.Time `json:"reset"`
}

// SystemLogStatus is where the follower of the org's System Log stands.
type SystemLogStatus struct {
	// LastPollTime is when the log was last read.
	// +optional
	LastPollTime *metav1.Time `json:"lastPollTime,omitempty"`
	// NewestEventTime is the publication time of the newest event read: the
	// follower's position in the log.
	// +optional
	NewestEventTime *metav1.Time `json:"newestEventTime,omitempty"`
	// LastError is why the last poll failed, if it did.
	// +optional
	LastError string `json:"lastError,omitempty"`
}

// AppliedOrgLimits are the org-wide settings in force.
type AppliedOrgLimits struct {
	// MaxAPICapacityPercent is the share of each rate-limit bucket used.
	MaxAPICapacityPercent int32 `json:"maxAPICapacityPercent"`
	// MaxOrgDeactivationPercent is the org-level import safeguard.
	MaxOrgDeactivationPercent int32 `json:"maxOrgDeactivationPercent"`
}

// OktaOrgStatus is what the operator observed of the org.
type OktaOrgStatus struct {
	CommonStatus `json:",inline"`

	// URL is the org's canonical URL: its identity.
	// +optional
	URL string `json:"url,omitempty"`
	// AuthMethod is APIToken or OAuth.
	// +optional
	AuthMethod AuthMethod `json:"authMethod,omitempty"`
	// Scopes are the OAuth scopes the service app's token was granted.
	// +optional
	Scopes []string `json:"scopes,omitempty"`
	// RateLimits are what Okta last said of each rate-limit bucket the
	// operator has used, as of the last check; appliedLimits says which
	// share of each the operator takes.
	// +optional
	RateLimits []BucketStatus `json:"rateLimits,omitempty"`
	// DPoP is true when the service app requires DPoP and every request
	// carries a proof (found out by itself from Okta's answer).
	// +optional
	DPoP bool `json:"dpop,omitempty"`
	// LastCheckedTime is when the credential last started working.
	// +optional
	LastCheckedTime *metav1.Time `json:"lastCheckedTime,omitempty"`
	// AppliedLimits are the org-wide settings in force: this object's, or
	// stricter ones when another org object names the same org (one
	// canonical URL) with tighter settings; the Ready message says so.
	// +optional
	AppliedLimits *AppliedOrgLimits `json:"appliedLimits,omitempty"`
	// SystemLog is where the follower of the org's System Log stands, as
	// of the last check, while it is followed (for AccountSyncs and for
	// drift detection).
	// +optional
	SystemLog *SystemLogStatus `json:"systemLog,omitempty"`
	// UsedBy counts the namespaces and objects that use the org.
	// +optional
	UsedBy *OrgUsage `json:"usedBy,omitempty"`
}

// ClusterOktaOrg is an Okta org the platform team connects once for many
// namespaces: its credential lives in the operator's own namespace, never a
// team's, and conditions say which namespaces may use it.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=coktaorg,categories=sso
// +kubebuilder:printcolumn:name="URL",type=string,JSONPath=`.spec.url`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Auth",type=string,JSONPath=`.status.authMethod`
// +kubebuilder:printcolumn:name="DPoP",type=boolean,JSONPath=`.status.dpop`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ClusterOktaOrg struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec   ClusterOktaOrgSpec `json:"spec"`
	Status OktaOrgStatus      `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// ClusterOktaOrgList is a list of ClusterOktaOrgs.
type ClusterOktaOrgList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ClusterOktaOrg `json:"items"`
}

// OktaOrg is an Okta org a team connects for its own namespace (a team
// that owns its own org); its credential Secrets are in that namespace.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=oktaorg,categories=sso
// +kubebuilder:printcolumn:name="URL",type=string,JSONPath=`.spec.url`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Auth",type=string,JSONPath=`.status.authMethod`
// +kubebuilder:printcolumn:name="DPoP",type=boolean,JSONPath=`.status.dpop`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type OktaOrg struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec   OktaOrgSpec   `json:"spec"`
	Status OktaOrgStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// OktaOrgList is a list of OktaOrgs.
type OktaOrgList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []OktaOrg `json:"items"`
}

func init() {
	SchemeBuilder.Register(&ClusterOktaOrg{}, &ClusterOktaOrgList{}, &OktaOrg{}, &OktaOrgList{})
}

// GetCommonStatus returns the status every kind has.
func (in *ClusterOktaOrg) GetCommonStatus() *CommonStatus { return &in.Status.CommonStatus }

// GetCommonStatus returns the status every kind has.
func (in *OktaOrg) GetCommonStatus() *CommonStatus { return &in.Status.CommonStatus }

// StatusSnapshot returns a copy of the whole status, to tell whether a
// reconcile changed it.
func (in *ClusterOktaOrg) StatusSnapshot() any { return *in.Status.DeepCopy() }

// StatusSnapshot returns a copy of the whole status, to tell whether a
// reconcile changed it.
func (in *OktaOrg) StatusSnapshot() any { return *in.Status.DeepCopy() }

// IsSuspended is false: an org is a connection, not something to pause.
func (in *ClusterOktaOrg) IsSuspended() bool { return false }

// IsSuspended is false: an org is a connection, not something to pause.
func (in *OktaOrg) IsSuspended() bool { return false }

// orgCheckInterval is how often an org's credential is tried when nothing
// changed.
const orgCheckInterval = 10 * time.Minute

// ReconcileInterval is how often the credential is tried again.
func (in *ClusterOktaOrg) ReconcileInterval() time.Duration { return orgCheckInterval }

// ReconcileInterval is how often the credential is tried again.
func (in *OktaOrg) ReconcileInterval() time.Duration { return orgCheckInterval }
