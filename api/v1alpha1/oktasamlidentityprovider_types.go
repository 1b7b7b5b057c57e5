package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// RequestBinding is how the hub sends AuthnRequests to the spoke.
// +kubebuilder:validation:Enum=HTTP-POST;HTTP-Redirect
type RequestBinding string

// Request bindings.
const (
	RequestBindingPost     RequestBinding = "HTTP-POST"
	RequestBindingRedirect RequestBinding = "HTTP-Redirect"
)

// IdPSignatureAlgorithm is the digest of a signature between the hub and the spoke.
// +kubebuilder:validation:Enum=SHA-256;SHA-1
type IdPSignatureAlgorithm string

// Signature algorithms.
const (
	IdPSignatureSHA256 IdPSignatureAlgorithm = "SHA-256"
	IdPSignatureSHA1   IdPSignatureAlgorithm = "SHA-1"
)

// ResponseSignature is what of the spoke's answer must be signed.
// +kubebuilder:validation:Enum=Response;Assertion;ResponseOrAssertion
type ResponseSignature string

// Response signature scopes.
const (
	ResponseSignatureResponse            ResponseSignature = "Response"
	ResponseSignatureAssertion           ResponseSignature = "Assertion"
	ResponseSignatureResponseOrAssertion ResponseSignature = "ResponseOrAssertion"
)

// ACSType is the hub's assertion consumer service URL for this IdP.
// +kubebuilder:validation:Enum=TrustSpecific;Org
type ACSType string

// ACS types.
const (
	// ACSTypeTrustSpecific: an ACS URL of this IdP's own (Okta's INSTANCE).
	ACSTypeTrustSpecific ACSType = "TrustSpecific"
	// ACSTypeOrg: the ACS URL the org shares across its IdPs (Okta's ORG).
	ACSTypeOrg ACSType = "Org"
)

// MatchAgainst is which hub user attribute the transformed username is
// compared with.
// +kubebuilder:validation:Enum=Username;Email;UsernameOrEmail
type MatchAgainst string

// Match attributes.
const (
	MatchAgainstUsername        MatchAgainst = "Username"
	MatchAgainstEmail           MatchAgainst = "Email"
	MatchAgainstUsernameOrEmail MatchAgainst = "UsernameOrEmail"
)

// AccountLinkPolicy says whether a spoke user is linked to a matching hub
// user on its own.
// +kubebuilder:validation:Enum=Auto;Disabled
type AccountLinkPolicy string

// Account link policies.
const (
	AccountLinkAuto     AccountLinkPolicy = "Auto"
	AccountLinkDisabled AccountLinkPolicy = "Disabled"
)

// IfNoMatch is what the hub does with a spoke user it has no user for.
// +kubebuilder:validation:Enum=JIT;Redirect
type IfNoMatch string

// No-match actions.
const (
	// IfNoMatchJIT creates the user in the hub (just-in-time provisioning).
	IfNoMatchJIT IfNoMatch = "JIT"
	// IfNoMatchRedirect sends the user to the hub's own sign-in page.
	IfNoMatchRedirect IfNoMatch = "Redirect"
)

// Spoke is the spoke org's side of the federation, written out: what the
// hub trusts. Usually taken from the spoke's Org2Org app instead (spokeAppRef).
type Spoke struct {
	// Issuer is the spoke's SAML issuer (the Org2Org app's idp-issuer).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	// +required
	Issuer string `json:"issuer"`
	// SSOURL is the spoke's single sign-on URL for the Org2Org app.
	// +required
	SSOURL URL `json:"ssoURL"`
	// SigningCertificate is the spoke's signing certificate, PEM.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=16384
	// +kubebuilder:validation:XValidation:rule="self.startsWith('-----BEGIN CERTIFICATE-----')",message="must be a PEM certificate (-----BEGIN CERTIFICATE-----)"
	// +required
	SigningCertificate string `json:"signingCertificate"`
}

// AccountLink is the account link policy and whom it may link.
type AccountLink struct {
	// Policy: Disabled (the default, as Okta's guide advises) or Auto.
	// +kubebuilder:default=Disabled
	// +optional
	Policy AccountLinkPolicy `json:"policy,omitempty"`
	// Groups, by name, whose members alone may be linked on their own
	// (Okta's auto-link restrictions); empty allows every user.
	// +kubebuilder:validation:MaxItems=100
	// +listType=set
	// +optional
	Groups []string `json:"groups,omitempty"`
}

// Provisioning is what the hub does on a spoke sign-in.
type Provisioning struct {
	// IfNoMatch: JIT (the default) creates the user in the hub; Redirect sends
	// the user to the hub's sign-in page.
	// +kubebuilder:default=JIT
	// +optional
	IfNoMatch IfNoMatch `json:"ifNoMatch,omitempty"`
	// ProfileSource makes the spoke the source of the hub user's profile
	// attributes (Okta's profile master). Off by default, as the guide
	// advises when the Org2Org app also pushes profiles.
	// +optional
	ProfileSource bool `json:"profileSource,omitempty"`
	// Reactivate reactivates or unsuspends a deactivated or suspended hub
	// user on sign-in. Needs profileSource.
	// +optional
	Reactivate bool `json:"reactivate,omitempty"`
	// Groups, by name, a user created just in time is added to.
	// +kubebuilder:validation:MaxItems=100
	// +listType=set
	// +optional
	Groups []string `json:"groups,omitempty"`
}

// SharedApp is a hub app the spoke's users get a tile for.
type SharedApp struct {
	// Name of the hub OktaSAMLApp in this namespace.
	// +required
	Name ResourceName `json:"name"`
	// Label of the tile in the spoke; defaults to the hub app's label.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=100
	// +optional
	Label string `json:"label,omitempty"`
}

// SharedAppStatus is a tile the operator keeps in the spoke.
type SharedAppStatus struct {
	// Name of the hub OktaSAMLApp.
	Name string `json:"name"`
	// BookmarkAppID is the bookmark app's ID in the spoke org.
	BookmarkAppID string `json:"bookmarkAppID"`
	// URL the tile opens.
	URL string `json:"url"`
}

// OktaSAMLIdentityProviderSpec is the hub org's inbound SAML identity
// provider for a spoke org.
// +kubebuilder:validation:XValidation:rule="!has(self.sharedApps) || size(self.sharedApps) == 0 || has(self.spokeAppRef)",message="sharedApps needs spokeAppRef: the tiles go in the spoke org of that app",fieldPath=".sharedApps"
// +kubebuilder:validation:XValidation:rule="has(self.spokeAppRef) != has(self.spoke)",message="set exactly one of spokeAppRef (the spoke's Org2Org app in this namespace) or spoke (its issuer, SSO URL and certificate written out)"
// +kubebuilder:validation:XValidation:rule="!has(self.provisioning) || !has(self.provisioning.reactivate) || !self.provisioning.reactivate || (has(self.provisioning.profileSource) && self.provisioning.profileSource)",message="provisioning.reactivate needs provisioning.profileSource: Okta reactivates users only for an IdP that is their profile source",fieldPath=".provisioning.reactivate"
type OktaSAMLIdentityProviderSpec struct {
	// OrgRef is the hub org: the Okta org that trusts the spoke.
	// +required
	OrgRef OrgReference `json:"orgRef"`

	// Name of the IdP in the hub org; defaults to the object's name.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=100
	// +optional
	Name string `json:"name,omitempty"`

	// SpokeAppRef names the spoke's Org2Org OktaSAMLApp in this namespace;
	// the IdP trusts its issuer, SSO URL and signing certificate, and follows
	// them as they change (a key rotation included).
	// +optional
	SpokeAppRef *LocalObjectReference `json:"spokeAppRef,omitempty"`

	// Spoke is the spoke's side written out, when it is not managed here.
	// +optional
	Spoke *Spoke `json:"spoke,omitempty"`

	// RequestBinding: HTTP-POST (the default) or HTTP-Redirect.
	// +kubebuilder:default=HTTP-POST
	// +optional
	RequestBinding RequestBinding `json:"requestBinding,omitempty"`

	// SignRequests signs the hub's AuthnRequests (the guide's setting).
	// +kubebuilder:default=true
	// +optional
	SignRequests *bool `json:"signRequests,omitempty"`

	// RequestSignatureAlgorithm: SHA-256 (the default) or SHA-1.
	// +kubebuilder:default=SHA-256
	// +optional
	RequestSignatureAlgorithm IdPSignatureAlgorithm `json:"requestSignatureAlgorithm,omitempty"`

	// ResponseSignature is what of the spoke's answer must be signed:
	// Response, Assertion or ResponseOrAssertion (the default).
	// +kubebuilder:default=ResponseOrAssertion
	// +optional
	ResponseSignature ResponseSignature `json:"responseSignature,omitempty"`

	// ResponseSignatureAlgorithm: SHA-256 (the default) or SHA-1.
	// +kubebuilder:default=SHA-256
	// +optional
	ResponseSignatureAlgorithm IdPSignatureAlgorithm `json:"responseSignatureAlgorithm,omitempty"`

	// Destination is the Destination of the hub's AuthnRequests; Okta uses
	// the spoke's SSO URL when it is empty and requests are signed.
	// +optional
	Destination URL `json:"destination,omitempty"`

	// ACSType: TrustSpecific (the default; an ACS URL of this IdP's own) or
	// Org (the org's shared one).
	// +kubebuilder:default=TrustSpecific
	// +optional
	ACSType ACSType `json:"acsType,omitempty"`

	// MaxClockSkew is how far an assertion's times may differ from the hub's
	// clock, up to 1h.
	// +kubebuilder:default="2m"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('0s') && duration(self) <= duration('1h')",message="must be between 0s and 1h"
	// +optional
	MaxClockSkew metav1.Duration `json:"maxClockSkew,omitzero"`

	// UsernameTemplate is the Okta expression that makes the hub username
	// from the spoke's assertion.
	// +kubebuilder:default="idpuser.subjectNameId"
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	UsernameTemplate string `json:"usernameTemplate,omitempty"`

	// UsernameFilter is a regular expression the transformed username must
	// match, such as ^[A-Za-z0-9._%+-]+@example\.com$; others are refused.
	// +kubebuilder:validation:MaxLength=1024
	// +kubebuilder:validation:XValidation:rule="''.matches(self) || !''.matches(self)",message="must be a regular expression that compiles"
	// +optional
	UsernameFilter string `json:"usernameFilter,omitempty"`

	// MatchAgainst is the hub user attribute compared with the transformed
	// username: Username (the default), Email or UsernameOrEmail.
	// +kubebuilder:default=Username
	// +optional
	MatchAgainst MatchAgainst `json:"matchAgainst,omitempty"`

	// AccountLink is the account link policy.
	// +optional
	AccountLink AccountLink `json:"accountLink,omitzero"`

	// Provisioning is what the hub does on sign-in: just-in-time users,
	// profile source, reactivation, groups.
	// +optional
	Provisioning Provisioning `json:"provisioning,omitzero"`

	// SharedApps are hub apps (OktaSAMLApps in this namespace, in the hub org)
	// the spoke's users get a tile for: a bookmark app in the spoke org whose
	// URL is the spoke app's SSO URL with the hub app's embed link as
	// RelayState, as the Org2Org guide builds by hand, assigned to the groups
	// the spoke's Org2Org app is assigned to. Needs spokeAppRef.
	// +kubebuilder:validation:MaxItems=100
	// +listType=map
	// +listMapKey=name
	// +optional
	SharedApps []SharedApp `json:"sharedApps,omitempty"`

	// Active is the IdP's status in the hub; false deactivates it (nobody
	// from the spoke can sign in) without deleting it.
	// +kubebuilder:default=true
	// +optional
	Active *bool `json:"active,omitempty"`

	// DeletionPolicy: Delete (the default) removes the IdP from the hub when
	// this object is deleted; Orphan leaves it. An IdP adopted with
	// sso.oktaop.io/adopt: "true" is always left in the hub.
	// +kubebuilder:default=Delete
	// +optional
	DeletionPolicy DeletionPolicy `json:"deletionPolicy,omitempty"`

	// Interval between checks against Okta, from 1m to 24h.
	// +kubebuilder:default="10m"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1m') && duration(self) <= duration('24h')",message="must be between 1m and 24h"
	// +optional
	Interval metav1.Duration `json:"interval,omitzero"`

	// Suspend stops reconciling until it is false again.
	// +optional
	Suspend bool `json:"suspend,omitempty"`
}

// TrustedCertificate is the spoke certificate the hub trusts.
type TrustedCertificate struct {
	// KeyID is the hub's ID for it (an IdP key).
	KeyID string `json:"keyID,omitempty"`
	// SHA256Fingerprint of the certificate, hex with colons.
	SHA256Fingerprint string `json:"sha256Fingerprint,omitempty"`
	// NotAfter is when it expires.
	NotAfter *metav1.Time `json:"notAfter,omitempty"`
}

// OktaSAMLIdentityProviderStatus is what the operator observed.
type OktaSAMLIdentityProviderStatus struct {
	CommonStatus `json:",inline"`

	// IdPID is the IdP's ID in the hub org.
	// +optional
	IdPID string `json:"idpID,omitempty"`
	// Origin is how the operator came to own the IdP: Created, or Adopted
	// on request. Only the IdP in idpID is ever written or deleted.
	// +optional
	Origin Origin `json:"origin,omitempty"`
	// CreateStartedAt is set just before the IdP is created and cleared once
	// its ID is recorded. Okta keeps no owner on an IdP, so after a crash in
	// between, the IdP of this name created since then is taken as this
	// object's; no other IdP is ever looked up by name.
	// +optional
	CreateStartedAt *metav1.Time `json:"createStartedAt,omitempty"`
	// ACSURL is the hub's assertion consumer service URL for the spoke: the
	// Org2Org app's Hub ACS URL.
	// +optional
	ACSURL string `json:"acsURL,omitempty"`
	// Audience is the hub's audience (SP entity ID) for the spoke: the
	// Org2Org app's Audience URI.
	// +optional
	Audience string `json:"audience,omitempty"`
	// HubURL is the hub org's URL: the Org2Org app's base URL.
	// +optional
	HubURL string `json:"hubURL,omitempty"`
	// TrustedCertificate is the spoke certificate the IdP verifies with.
	// +optional
	TrustedCertificate *TrustedCertificate `json:"trustedCertificate,omitempty"`
	// SharedApps are the tiles kept in the spoke for spec.sharedApps.
	// +optional
	SharedApps []SharedAppStatus `json:"sharedApps,omitempty"`
}

// OktaSAMLIdentityProvider is the hub org's inbound SAML identity provider for
// a spoke org (hub and spoke federation, Org2Org): the hub trusts the spoke's
// Org2Org app, and the app takes the hub's ACS URL and audience from this
// object's status (serviceProvider.fromIdentityProviderRef), so one apply
// wires both orgs.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=samlidp,categories=sso
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="IdP ID",type=string,JSONPath=`.status.idpID`
// +kubebuilder:printcolumn:name="Origin",type=string,JSONPath=`.status.origin`
// +kubebuilder:printcolumn:name="Spoke App",type=string,JSONPath=`.spec.spokeAppRef.name`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type OktaSAMLIdentityProvider struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec   OktaSAMLIdentityProviderSpec   `json:"spec"`
	Status OktaSAMLIdentityProviderStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// OktaSAMLIdentityProviderList is a list of OktaSAMLIdentityProviders.
type OktaSAMLIdentityProviderList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []OktaSAMLIdentityProvider `json:"items"`
}

func init() {
	SchemeBuilder.Register(&OktaSAMLIdentityProvider{}, &OktaSAMLIdentityProviderList{})
}
