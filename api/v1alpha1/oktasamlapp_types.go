package v1alpha1

import (
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// OktaSAMLAppSpec is one SAML 2.0 app integration in one Okta org.
//
// +kubebuilder:validation:XValidation:rule="has(self.preconfigured) || (has(self.serviceProvider) && has(self.serviceProvider.entityID) && has(self.serviceProvider.acsURL))",message="serviceProvider.entityID and serviceProvider.acsURL are required unless preconfigured names a catalog app",fieldPath=".serviceProvider"
// +kubebuilder:validation:XValidation:rule="!has(self.serviceProvider) || !has(self.serviceProvider.fromIdentityProviderRef) || (has(self.preconfigured) && self.preconfigured == 'okta_org2org')",message="serviceProvider.fromIdentityProviderRef applies to an Org2Org app (preconfigured: okta_org2org)",fieldPath=".serviceProvider.fromIdentityProviderRef"
// +kubebuilder:validation:XValidation:rule="!has(self.appSettings) || has(self.preconfigured)",message="appSettings applies only to a preconfigured (catalog) app",fieldPath=".appSettings"
// +kubebuilder:validation:XValidation:rule="!has(self.provisioning) || (has(self.preconfigured) && self.preconfigured == 'okta_org2org')",message="provisioning applies to an Org2Org app (preconfigured: okta_org2org): Okta's API sets up provisioning for no other app the operator makes",fieldPath=".provisioning"
// +kubebuilder:validation:XValidation:rule="!has(self.signOn) || !has(self.signOn.requestSignatureRequired) || !self.signOn.requestSignatureRequired || (has(self.serviceProvider) && has(self.serviceProvider.signingCertificate))",message="signOn.requestSignatureRequired needs serviceProvider.signingCertificate: Okta verifies signed AuthnRequests with the SP certificate",fieldPath=".signOn.requestSignatureRequired"
type OktaSAMLAppSpec struct {
	// OrgRef names the Secret, in this namespace, that holds the Okta org URL
	// and credentials (keys orgURL and apiToken, or clientID and privateKey).
	// +required
	OrgRef OrgReference `json:"orgRef"`

	// Label is the app's display name in Okta and on the user's dashboard.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=100
	// +required
	Label string `json:"label"`

	// Active sets the app ACTIVE (true) or INACTIVE (false) in Okta. An
	// inactive app keeps its settings and assignments but nobody can sign in.
	// +kubebuilder:default=true
	// +optional
	Active *bool `json:"active,omitempty"`

	// Preconfigured is the Okta Integration Network (catalog) app name, such as
	// okta_org2org, to create instead of a custom SAML app. The custom-app
	// sign-on fields then become optional and appSettings carries the catalog
	// app's own settings.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=100
	// +kubebuilder:validation:Pattern=`^[a-z0-9_]+$`
	// +optional
	Preconfigured string `json:"preconfigured,omitempty"`

	// AppSettings is the catalog app's settings object (Okta's settings.app),
	// free-form; only with preconfigured.
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	AppSettings *apiextensionsv1.JSON `json:"appSettings,omitempty"`

	// ServiceProvider describes the SP: where Okta sends assertions and how
	// the SP identifies itself.
	// +optional
	ServiceProvider *ServiceProvider `json:"serviceProvider,omitempty"`

	// Provisioning pushes the users assigned to this Org2Org app, and the
	// groups listed, into the org the app signs in to (the hub): Okta's
	// Provisioning tab of the app, set up through its API. Users then exist
	// in the hub before they first sign in, follow their spoke profile, and
	// are deactivated in the hub when they lose the app in the spoke.
	// +optional
	Provisioning *AppProvisioning `json:"provisioning,omitempty"`

	// SignOn holds the SAML assertion settings.
	// +kubebuilder:default={}
	// +optional
	SignOn SignOn `json:"signOn,omitempty"`

	// IDPInitiated controls login started from the Okta dashboard tile.
	// +kubebuilder:default={}
	// +optional
	IDPInitiated IDPInitiated `json:"idpInitiated,omitempty"`

	// Visibility controls where the app's tile is shown.
	// +optional
	Visibility Visibility `json:"visibility,omitempty"`

	// SigningKey controls the staged rotation of the app's IdP signing key.
	// +kubebuilder:default={}
	// +optional
	SigningKey SigningKey `json:"signingKey,omitempty"`

	// ConnectionSecret shapes the Secret that hands the IdP's and SP's SAML
	// details to the workload.
	// +kubebuilder:default={}
	// +optional
	ConnectionSecret ConnectionSecret `json:"connectionSecret,omitempty"`

	// DeletionPolicy: Delete deactivates then deletes the app in Okta when this
	// object is deleted; Orphan leaves it in Okta (its owner note removed).
	// An app adopted with sso.oktaop.io/adopt: "true" is always left in Okta.
	// +kubebuilder:default=Delete
	// +optional
	DeletionPolicy DeletionPolicy `json:"deletionPolicy,omitempty"`

	// Interval between drift checks against Okta, from 1m to 24h. Changes made
	// in Okta by hand are put back at the next check.
	// +kubebuilder:default="10m"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1m') && duration(self) <= duration('24h')",message="must be between 1m and 24h"
	// +optional
	Interval metav1.Duration `json:"interval,omitzero"`

	// Suspend stops reconciling: nothing is read from or written to Okta until
	// it is false again.
	// +optional
	Suspend bool `json:"suspend,omitempty"`
}

// OrgReference names the Okta org: a ClusterOktaOrg or an OktaOrg in this
// namespace ({kind, name}), or, deprecated, an org Secret in this namespace
// ({secretName}).
// +kubebuilder:validation:XValidation:rule="has(self.secretName) != has(self.name)",message="set either kind and name (a ClusterOktaOrg or an OktaOrg) or, deprecated, secretName; not both"
// +kubebuilder:validation:XValidation:rule="has(self.name) == has(self.kind)",message="kind (ClusterOktaOrg or OktaOrg) and name go together"
type OrgReference struct {
	// Kind of the org object: ClusterOktaOrg (the platform's) or OktaOrg
	// (one in this namespace).
	// +optional
	Kind OrgKind `json:"kind,omitempty"`
	// Name of the org object.
	// +optional
	Name ResourceName `json:"name,omitempty"`
	// SecretName is the Secret in this namespace with keys orgURL and either
	// apiToken, or clientID and privateKey (and optionally scopes and
	// maxAPICapacityPercent). Deprecated: it puts the org's credential in
	// the team's namespace; use kind and name. It keeps working for this
	// release, with a Deprecated event.
	// +optional
	SecretName ResourceName `json:"secretName,omitempty"`
}

// ServiceProvider describes the SAML service provider.
//
// +kubebuilder:validation:XValidation:rule="!has(self.additionalACSURLs) || self.additionalACSURLs.all(a, self.additionalACSURLs.exists_one(b, b.index == a.index))",message="additionalACSURLs indexes must be unique",fieldPath=".additionalACSURLs"
type ServiceProvider struct {
	// EntityID is the SP's entity ID, which Okta calls the audience. It may be a
	// URL or a plain string such as druva-cloud.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	EntityID string `json:"entityID,omitempty"`

	// ACSURL is the SP's assertion consumer service URL, which Okta calls the
	// single sign-on URL. It is index 0 in the SP metadata.
	// +optional
	ACSURL URL `json:"acsURL,omitempty"`

	// AdditionalACSURLs are further ACS URLs the SP may request by index.
	// +kubebuilder:validation:MaxItems=100
	// +optional
	AdditionalACSURLs []ACSEndpoint `json:"additionalACSURLs,omitempty"`

	// Recipient is where the assertion may be presented; defaults to acsURL.
	// +optional
	Recipient URL `json:"recipient,omitempty"`

	// Destination is the Destination attribute of the SAML response; defaults
	// to acsURL.
	// +optional
	Destination URL `json:"destination,omitempty"`

	// SingleLogoutURL is the SP's single logout endpoint. Okta signs logout
	// requests, so it needs signingCertificate too.
	// +optional
	SingleLogoutURL URL `json:"singleLogoutURL,omitempty"`

	// SigningCertificate is the SP's key pair, used to sign AuthnRequests and
	// logout requests: generated by the operator or taken from a Secret.
	// +optional
	SigningCertificate *SigningCertificate `json:"signingCertificate,omitempty"`

	// FromIdentityProviderRef names an OktaSAMLIdentityProvider in this
	// namespace whose hub ACS URL, audience and hub URL this app takes (an
	// Org2Org app: preconfigured okta_org2org), so no value is copied by hand
	// between the two orgs. The app waits (DependencyNotReady) until the IdP
	// is Ready.
	// +optional
	FromIdentityProviderRef *LocalObjectReference `json:"fromIdentityProviderRef,omitempty"`
}

// ACSEndpoint is one additional assertion consumer service URL.
type ACSEndpoint struct {
	// Index the SP uses in AuthnRequests to ask for this URL; 1 to 65535
	// (index 0 is acsURL).
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	// +required
	Index int32 `json:"index"`
	// URL of the endpoint.
	// +required
	URL URL `json:"url"`
}

// SigningCertificate is the SP's signing key pair: exactly one of generate or
// secretRef.
//
// +kubebuilder:validation:XValidation:rule="has(self.generate) != has(self.secretRef)",message="set exactly one of generate or secretRef"
type SigningCertificate struct {
	// Generate makes the operator create and renew a self-signed key pair.
	// +optional
	Generate *GenerateCertificate `json:"generate,omitempty"`
	// SecretRef takes the key pair from a kubernetes.io/tls Secret (keys
	// tls.crt and tls.key) in this namespace.
	// +optional
	SecretRef *LocalObjectReference `json:"secretRef,omitempty"`
}

// GenerateCertificate sets the lifetime of a generated SP certificate.
//
// +kubebuilder:validation:XValidation:rule="!has(self.renewBefore) || !has(self.validity) || duration(self.renewBefore) < duration(self.validity)",message="renewBefore must be shorter than validity",fieldPath=".renewBefore"
type GenerateCertificate struct {
	// Validity of each generated certificate, from 24h to 87600h (10 years).
	// +kubebuilder:default="8760h"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('24h') && duration(self) <= duration('87600h')",message="must be between 24h and 87600h"
	// +optional
	Validity metav1.Duration `json:"validity,omitzero"`
	// RenewBefore is how long before expiry a new certificate is generated.
	// +kubebuilder:default="720h"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1h')",message="must be at least 1h"
	// +optional
	RenewBefore metav1.Duration `json:"renewBefore,omitzero"`
}

// NameIDFormat is the SAML NameID format.
// +kubebuilder:validation:Enum=EmailAddress;Unspecified;Persistent;Transient;X509SubjectName
type NameIDFormat string

// NameID formats.
const (
	NameIDFormatEmailAddress    NameIDFormat = "EmailAddress"
	NameIDFormatUnspecified     NameIDFormat = "Unspecified"
	NameIDFormatPersistent      NameIDFormat = "Persistent"
	NameIDFormatTransient       NameIDFormat = "Transient"
	NameIDFormatX509SubjectName NameIDFormat = "X509SubjectName"
)

// SignatureAlgorithm signs SAML responses and assertions.
// +kubebuilder:validation:Enum=RSA_SHA256;RSA_SHA1
type SignatureAlgorithm string

// DigestAlgorithm digests the signed SAML content.
// +kubebuilder:validation:Enum=SHA256;SHA1
type DigestAlgorithm string

// SignOn holds the SAML assertion settings of a custom app.
//
// +kubebuilder:validation:XValidation:rule="(!has(self.responseSigned) || self.responseSigned) || (!has(self.assertionSigned) || self.assertionSigned)",message="at least one of responseSigned or assertionSigned must be true: an unsigned response can be forged",fieldPath=".responseSigned"
type SignOn struct {
	// NameIDFormat of the assertion's subject.
	// +kubebuilder:default=Unspecified
	// +optional
	NameIDFormat NameIDFormat `json:"nameIDFormat,omitempty"`

	// UsernameTemplate is the Okta expression that makes the NameID value.
	// +kubebuilder:default="${source.login}"
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	UsernameTemplate string `json:"usernameTemplate,omitempty"`

	// ResponseSigned signs the whole SAML response.
	// +kubebuilder:default=true
	// +optional
	ResponseSigned *bool `json:"responseSigned,omitempty"`

	// AssertionSigned signs the assertion inside the response.
	// +kubebuilder:default=true
	// +optional
	AssertionSigned *bool `json:"assertionSigned,omitempty"`

	// SignatureAlgorithm for response and assertion signatures.
	// +kubebuilder:default=RSA_SHA256
	// +optional
	SignatureAlgorithm SignatureAlgorithm `json:"signatureAlgorithm,omitempty"`

	// DigestAlgorithm for response and assertion signatures.
	// +kubebuilder:default=SHA256
	// +optional
	DigestAlgorithm DigestAlgorithm `json:"digestAlgorithm,omitempty"`

	// HonorForceAuthn makes Okta ask the user to sign in again when the SP's
	// AuthnRequest has ForceAuthn=true.
	// +kubebuilder:default=true
	// +optional
	HonorForceAuthn *bool `json:"honorForceAuthn,omitempty"`

	// AuthnContextClassRef of the assertion.
	// +kubebuilder:default="urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	AuthnContextClassRef string `json:"authnContextClassRef,omitempty"`

	// RequestSignatureRequired makes Okta accept only AuthnRequests signed
	// with serviceProvider.signingCertificate.
	// +optional
	RequestSignatureRequired bool `json:"requestSignatureRequired,omitempty"`

	// AuthenticationPolicy is the app sign-on (authentication) policy Okta
	// applies to the app, by name or ID; a hand change in Okta is put back.
	// Without it the app keeps the policy it has (the org's default for a
	// new app).
	// +optional
	AuthenticationPolicy *PolicyReference `json:"authenticationPolicy,omitempty"`

	// AttributeStatements add attributes to the assertion.
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=100
	// +optional
	AttributeStatements []AttributeStatement `json:"attributeStatements,omitempty"`

	// GroupAttributeStatements add an attribute listing the user's Okta groups
	// that pass a filter.
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=100
	// +optional
	GroupAttributeStatements []GroupAttributeStatement `json:"groupAttributeStatements,omitempty"`
}

// PolicyReference names an Okta policy by exactly one of name and ID.
// +kubebuilder:validation:XValidation:rule="has(self.name) != has(self.id)",message="set exactly one of name and id"
type PolicyReference struct {
	// Name of the policy as Okta shows it, such as "Any two factors".
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	// +optional
	Name string `json:"name,omitempty"`

	// ID of the policy, such as rst1a2b3c4d5e6f7g8h9.
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9]{20}$`
	// +optional
	ID string `json:"id,omitempty"`
}

// PolicyStatus is a policy the operator resolved and assigned.
type PolicyStatus struct {
	// ID of the policy in Okta.
	ID string `json:"id"`
	// Name the policy was found by, when the spec names it.
	// +optional
	Name string `json:"name,omitempty"`
}

// AttributeNameFormat is the SAML attribute name format.
// +kubebuilder:validation:Enum=Unspecified;URIReference;Basic
type AttributeNameFormat string

// AttributeStatement is one attribute of the assertion: exactly one of values
// or valueFrom.
//
// +kubebuilder:validation:XValidation:rule="has(self.values) != has(self.valueFrom)",message="set exactly one of values or valueFrom"
type AttributeStatement struct {
	// Name of the attribute, such as insync_auth_token.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	// +required
	Name string `json:"name"`

	// NameFormat of the attribute.
	// +kubebuilder:default=Unspecified
	// +optional
	NameFormat AttributeNameFormat `json:"nameFormat,omitempty"`

	// Values are Okta expressions or literals, such as user.email or
	// "\"Engineering\"".
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=100
	// +kubebuilder:validation:items:MaxLength=4096
	// +optional
	Values []string `json:"values,omitempty"`

	// ValueFrom takes a single secret value from a Secret, for attributes that
	// carry a token the SP generated. The value reaches Okta and nothing else:
	// not this object, logs, events, status or metrics.
	// +optional
	ValueFrom *AttributeValueSource `json:"valueFrom,omitempty"`
}

// AttributeValueSource is where a secret attribute value comes from.
type AttributeValueSource struct {
	// SecretKeyRef selects the key of a Secret in this namespace.
	// +required
	SecretKeyRef SecretKeySelector `json:"secretKeyRef"`
}

// GroupFilterType is how group names are matched for a group attribute.
// +kubebuilder:validation:Enum=STARTS_WITH;EQUALS;CONTAINS;REGEX
type GroupFilterType string

// GroupAttributeStatement is an attribute listing the user's matching groups.
type GroupAttributeStatement struct {
	// Name of the attribute, such as groups.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	// +required
	Name string `json:"name"`

	// NameFormat of the attribute.
	// +kubebuilder:default=Unspecified
	// +optional
	NameFormat AttributeNameFormat `json:"nameFormat,omitempty"`

	// FilterType says how filterValue is matched against group names.
	// +required
	FilterType GroupFilterType `json:"filterType"`

	// FilterValue is matched against each group name.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	// +required
	FilterValue string `json:"filterValue"`
}

// IDPInitiated controls IdP-initiated login (the Okta dashboard tile).
type IDPInitiated struct {
	// Enabled allows IdP-initiated login.
	// +kubebuilder:default=true
	// +optional
	Enabled *bool `json:"enabled,omitempty"`
	// DefaultRelayState is where the SP sends the user after an IdP-initiated
	// login.
	// +kubebuilder:validation:MaxLength=2048
	// +optional
	DefaultRelayState string `json:"defaultRelayState,omitempty"`
}

// Visibility controls the app tile.
type Visibility struct {
	// HideOnDashboard hides the tile from users' Okta dashboards (web and
	// mobile).
	// +optional
	HideOnDashboard bool `json:"hideOnDashboard,omitempty"`
}

// SigningKey controls the staged rotation of the app's IdP signing key: a new
// key is generated rotateBefore the active one expires and published beside it
// (Secret and metadata), Okta switches to it promoteAfter later (or at once on
// the sso.oktaop.io/promote-signing-key annotation), then the old one retires.
// A new value of the sso.oktaop.io/rotate-signing-key annotation starts the
// same staged rotation at once, whatever the active key's expiry.
//
// +kubebuilder:validation:XValidation:rule="!has(self.promoteAfter) || !has(self.rotateBefore) || duration(self.promoteAfter) < duration(self.rotateBefore)",message="promoteAfter must be shorter than rotateBefore, so the new key is in use before the old one expires",fieldPath=".promoteAfter"
type SigningKey struct {
	// ValidityYears of each generated key, 2 to 10 (Okta's limits).
	// +kubebuilder:default=10
	// +kubebuilder:validation:Minimum=2
	// +kubebuilder:validation:Maximum=10
	// +optional
	ValidityYears int32 `json:"validityYears,omitempty"`

	// RotateBefore is how long before the active key expires its successor is
	// generated and published; 24h to 8760h.
	// +kubebuilder:default="720h"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('24h') && duration(self) <= duration('8760h')",message="must be between 24h and 8760h"
	// +optional
	RotateBefore metav1.Duration `json:"rotateBefore,omitzero"`

	// PromoteAfter is how long a published successor waits before Okta signs
	// with it, so that SPs have time to trust it.
	// +kubebuilder:default="168h"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +optional
	PromoteAfter metav1.Duration `json:"promoteAfter,omitzero"`
}

// ConnectionSecret shapes the Secret handed to the workload.
type ConnectionSecret struct {
	// Name of the Secret; defaults to <app name>-saml.
	// +optional
	Name ResourceName `json:"name,omitempty"`
	// Labels merged onto the Secret.
	// +optional
	Labels map[string]string `json:"labels,omitempty"`
	// Annotations merged onto the Secret.
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`
}

// RotationPhase is where the IdP signing key rotation stands.
// +kubebuilder:validation:Enum=Stable;Staged;Promoted
type RotationPhase string

const (
	// RotationPhaseStable: one key, in use and published.
	RotationPhaseStable RotationPhase = "Stable"
	// RotationPhaseStaged: the successor is published beside the active key
	// and waits for promotion.
	RotationPhaseStaged RotationPhase = "Staged"
	// RotationPhasePromoted: Okta signs with the successor; the old key is
	// still published until it retires.
	RotationPhasePromoted RotationPhase = "Promoted"
)

// OktaSAMLAppStatus is what the operator observed.
type OktaSAMLAppStatus struct {
	CommonStatus `json:",inline"`

	// AppID is the Okta app ID (also in the sso.oktaop.io/app-id annotation).
	// +optional
	AppID string `json:"appID,omitempty"`

	// Origin is how the operator came to own the app: Created, or Adopted
	// on request. Only the app in appID is ever written or deleted, and an
	// adopted one is left in Okta when this object is deleted unless the
	// sso.oktaop.io/adopt annotation says "Delete".
	// +optional
	Origin Origin `json:"origin,omitempty"`

	// IDP is what the SP needs to trust Okta.
	// +optional
	IDP *IDPStatus `json:"idp,omitempty"`

	// SP summarises the rendered SP metadata and certificate.
	// +optional
	SP *SPStatus `json:"sp,omitempty"`

	// ConnectionSecretName is the Secret holding the connection details.
	// +optional
	ConnectionSecretName string `json:"connectionSecretName,omitempty"`

	// SigningKey is where the IdP signing key rotation stands.
	// +optional
	SigningKey *SigningKeyStatus `json:"signingKey,omitempty"`

	// AuthenticationPolicy is the sign-on policy assigned to the app, as
	// signOn.authenticationPolicy resolved it.
	// +optional
	AuthenticationPolicy *PolicyStatus `json:"authenticationPolicy,omitempty"`

	// LastHandledRotateAt is the value of the sso.oktaop.io/rotate-signing-key
	// annotation last handled: a staged rotation was started for it (or one
	// already under way took it up).
	// +optional
	LastHandledRotateAt string `json:"lastHandledRotateAt,omitempty"`

	// LastHandledPromoteAt is the value of the
	// sso.oktaop.io/promote-signing-key annotation last handled: the staged
	// key was promoted for it, or nothing was staged to promote.
	// +optional
	LastHandledPromoteAt string `json:"lastHandledPromoteAt,omitempty"`

	// Provisioning is where spec.provisioning stands in Okta.
	// +optional
	Provisioning *ProvisioningStatus `json:"provisioning,omitempty"`
}

// AppProvisioning is an Org2Org app's provisioning into the hub.
type AppProvisioning struct {
	// Connection is the hub and the credential the app's provisioning
	// connection uses.
	// +required
	Connection ProvisioningConnection `json:"connection"`

	// ToApp says what Okta does in the hub.
	// +kubebuilder:default={}
	// +optional
	ToApp ToAppProvisioning `json:"toApp,omitempty"`

	// GroupPush lists spoke groups whose members (those the app provisions)
	// Okta keeps in a hub group.
	// +listType=map
	// +listMapKey=group
	// +kubebuilder:validation:MaxItems=100
	// +optional
	GroupPush []GroupPushRule `json:"groupPush,omitempty"`

	// Attributes are pushed to the hub beside the guide's firstName,
	// lastName and email (and the login, which the app's username template
	// gives): each hub user attribute and the Okta expression, over the
	// spoke user, it is computed from (user.title, for example).
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=50
	// +optional
	Attributes []ProvisioningAttribute `json:"attributes,omitempty"`

	// RemovedGroups is what happens to the hub group of a groupPush entry
	// that is removed: Keep (the default: Okta stops pushing, the group and
	// its members stay) or Delete (the hub group is deleted).
	// +kubebuilder:validation:Enum=Keep;Delete
	// +kubebuilder:default=Keep
	// +optional
	RemovedGroups string `json:"removedGroups,omitempty"`
}

// ProvisioningConnection names the hub: by its org object, whose API token
// the connection uses (and follows when it is rotated), or by a token in a
// Secret of this namespace where no org object names the hub.
// +kubebuilder:validation:XValidation:rule="has(self.orgRef) != has(self.tokenSecretRef)",message="set exactly one of orgRef and tokenSecretRef"
// +kubebuilder:validation:XValidation:rule="!has(self.orgRef) || has(self.orgRef.name)",message="orgRef names the hub's ClusterOktaOrg or OktaOrg by kind and name",fieldPath=".orgRef"
type ProvisioningConnection struct {
	// OrgRef is the hub's ClusterOktaOrg (when its tenant rule allows
	// provisioning) or an OktaOrg in this namespace. Its credential must be
	// an API token: Okta's token connection is what the operator sets up.
	// +optional
	OrgRef *OrgReference `json:"orgRef,omitempty"`
	// TokenSecretRef selects a hub API token in a Secret of this namespace.
	// +optional
	TokenSecretRef *SecretKeySelector `json:"tokenSecretRef,omitempty"`
}

// ToAppProvisioning is the Org2Org app's "To App" settings, with the
// guide's defaults.
type ToAppProvisioning struct {
	// Create makes a hub user for a spoke user the hub does not have
	// (matched by login first, so never a second one).
	// +kubebuilder:default=true
	// +optional
	Create *bool `json:"create,omitempty"`
	// Update pushes profile changes made in the spoke.
	// +kubebuilder:default=true
	// +optional
	Update *bool `json:"update,omitempty"`
	// Deactivate deactivates (never deletes) the hub user of a spoke user
	// who loses the app or is deactivated.
	// +kubebuilder:default=true
	// +optional
	Deactivate *bool `json:"deactivate,omitempty"`
	// Password is the password Okta sets in the hub: None (the default;
	// users sign in to the hub through the spoke), Random or Okta (the
	// spoke password, kept in sync).
	// +kubebuilder:validation:Enum=None;Random;Okta
	// +kubebuilder:default=None
	// +optional
	Password string `json:"password,omitempty"`
}

// ProvisioningAttribute is one attribute pushed to the hub.
type ProvisioningAttribute struct {
	// Name is the hub user attribute.
	// +kubebuilder:validation:Pattern=`^[A-Za-z][A-Za-z0-9_]*$`
	// +kubebuilder:validation:MaxLength=100
	// +kubebuilder:validation:XValidation:rule="self != 'login'",message="the login is the app's username template's, not a mapped attribute"
	// +required
	Name string `json:"name"`
	// Expression is Okta's expression over the spoke user, such as
	// user.title.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	// +required
	Expression string `json:"expression"`
}

// GroupPushRule pushes one spoke group to a hub group.
type GroupPushRule struct {
	// Group is the spoke group's name.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	// +required
	Group string `json:"group"`
	// HubGroup is the hub group's name (Group's when empty): linked when the
	// hub has one of that name, made by the first push when not.
	// +kubebuilder:validation:MaxLength=255
	// +optional
	HubGroup string `json:"hubGroup,omitempty"`
}

// ProvisioningStatus is where the app's provisioning stands. It never
// holds the credential.
type ProvisioningStatus struct {
	// Connection is Okta's status of the connection: ENABLED or DISABLED.
	Connection string `json:"connection,omitempty"`
	// Hub is the URL of the org the app provisions.
	Hub string `json:"hub,omitempty"`
	// CredentialVersion names the version of the hub credential the
	// connection was last set with (a Secret's resource version), so that a
	// rotated one is set again.
	// +optional
	CredentialVersion string `json:"credentialVersion,omitempty"`
	// AppliedGeneration is the generation whose To App settings and group
	// pushes were last applied.
	// +optional
	AppliedGeneration int64 `json:"appliedGeneration,omitempty"`
	// GroupPush reports each pushed group.
	// +optional
	GroupPush []GroupPushStatus `json:"groupPush,omitempty"`
	// Attributes are the attributes spec.provisioning.attributes mapped,
	// so that one taken off the list is unmapped (and no other).
	// +optional
	Attributes []string `json:"attributes,omitempty"`
}

// GroupPushStatus is one pushed group.
type GroupPushStatus struct {
	// Group is the spoke group; HubGroup the hub group's name.
	Group    string `json:"group"`
	HubGroup string `json:"hubGroup,omitempty"`
	// MappingID is Okta's group push mapping.
	MappingID string `json:"mappingID,omitempty"`
	// Status is the mapping's: ACTIVE, INACTIVE or ERROR; Pending while the
	// spoke group is missing.
	Status string `json:"status,omitempty"`
	// Message says what went wrong, when something did.
	Message string `json:"message,omitempty"`
}

// IDPStatus describes the Okta side of the integration.
type IDPStatus struct {
	// Issuer is the IdP entity ID (http://www.okta.com/<external key>).
	Issuer string `json:"issuer,omitempty"`
	// SSOURL is where SPs send AuthnRequests.
	SSOURL string `json:"ssoURL,omitempty"`
	// MetadataURL serves the IdP metadata.
	MetadataURL string `json:"metadataURL,omitempty"`
	// CertificateFingerprintSHA256 of the active signing certificate.
	CertificateFingerprintSHA256 string `json:"certificateFingerprintSHA256,omitempty"`
	// CertificateNotAfter is when the active signing certificate expires.
	CertificateNotAfter *metav1.Time `json:"certificateNotAfter,omitempty"`
	// KeyID of the active signing key.
	KeyID string `json:"keyID,omitempty"`
}

// SPStatus describes the rendered SP side.
type SPStatus struct {
	// MetadataSHA256 is the hash of sp-metadata.xml in the connection Secret.
	MetadataSHA256 string `json:"metadataSHA256,omitempty"`
	// CertificateNotAfter is when the SP signing certificate expires.
	CertificateNotAfter *metav1.Time `json:"certificateNotAfter,omitempty"`
}

// SigningKeyStatus is where the IdP signing key rotation stands.
type SigningKeyStatus struct {
	// ActiveKeyID is the key Okta signs with.
	ActiveKeyID string `json:"activeKeyID,omitempty"`
	// NextKeyID is the published successor, while one exists (Staged).
	NextKeyID string `json:"nextKeyID,omitempty"`
	// PreviousKeyID is the key Okta signed with before the last promotion,
	// still published until it retires (Promoted).
	PreviousKeyID string `json:"previousKeyID,omitempty"`
	// NotAfter is when the active key expires.
	NotAfter *metav1.Time `json:"notAfter,omitempty"`
	// RotationPhase: Stable, Staged or Promoted.
	RotationPhase RotationPhase `json:"rotationPhase,omitempty"`
}

// OktaSAMLApp is one SAML 2.0 app integration in one Okta org: the operator
// creates and keeps it in Okta, renders the SP metadata and hands the IdP's
// details to the workload in a Secret.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=samlapp,categories=sso
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="App ID",type=string,JSONPath=`.status.appID`
// +kubebuilder:printcolumn:name="Origin",type=string,JSONPath=`.status.origin`
// +kubebuilder:printcolumn:name="Label",type=string,JSONPath=`.spec.label`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type OktaSAMLApp struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec   OktaSAMLAppSpec   `json:"spec"`
	Status OktaSAMLAppStatus `json:"status,omitempty"`
}

// ConnectionSecretName is the name of the connection Secret: the spec's, or
// <app name>-saml.
func (in *OktaSAMLApp) ConnectionSecretName() string {
	if in.Spec.ConnectionSecret.Name != "" {
		return string(in.Spec.ConnectionSecret.Name)
	}
	return in.Name + "-saml"
}

// IsActive tells whether the app should be ACTIVE in Okta (the default).
func (in *OktaSAMLApp) IsActive() bool {
	return in.Spec.Active == nil || *in.Spec.Active
}

// +kubebuilder:object:root=true

// OktaSAMLAppList is a list of OktaSAMLApps.
type OktaSAMLAppList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []OktaSAMLApp `json:"items"`
}

func init() {
	SchemeBuilder.Register(&OktaSAMLApp{}, &OktaSAMLAppList{})
}
