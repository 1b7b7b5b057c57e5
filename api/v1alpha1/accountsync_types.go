package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// SyncMode says what an AccountSync may do to the SP's accounts.
// +kubebuilder:validation:Enum=Match;Provision
type SyncMode string

const (
	// SyncModeMatch maps Okta users to existing SP accounts, reports the
	// unmatched ones and creates nothing.
	SyncModeMatch SyncMode = "Match"
	// SyncModeProvision creates, updates and deactivates (active=false) SP
	// accounts; it never deletes one.
	SyncModeProvision SyncMode = "Provision"
)

// SCIMAuthType is how the operator authenticates to the SCIM endpoint.
// +kubebuilder:validation:Enum=Bearer;Basic
type SCIMAuthType string

// SCIM auth types.
const (
	SCIMAuthBearer SCIMAuthType = "Bearer"
	SCIMAuthBasic  SCIMAuthType = "Basic"
)

// MappingApply says when an attribute mapping is written.
// +kubebuilder:validation:Enum=CreateAndUpdate;CreateOnly
type MappingApply string

// Mapping apply modes.
const (
	MappingApplyCreateAndUpdate MappingApply = "CreateAndUpdate"
	MappingApplyCreateOnly      MappingApply = "CreateOnly"
)

// AccountSyncSpec keeps the SP's accounts in step with the app's Okta users.
type AccountSyncSpec struct {
	// AppRef names the OktaSAMLApp in this namespace whose assigned users are
	// synced; Okta is reached through that app's org.
	// +required
	AppRef LocalObjectReference `json:"appRef"`

	// Target is the service provider's account store.
	// +required
	Target SyncTarget `json:"target"`

	// Mode: Match (the default) or Provision.
	// +kubebuilder:default=Match
	// +optional
	Mode SyncMode `json:"mode,omitempty"`

	// Match says how an Okta user and an SP account are recognised as the same
	// person.
	// +kubebuilder:default={}
	// +optional
	Match MatchRule `json:"match,omitempty"`

	// AttributeMappings fill SP account attributes from Okta expressions in
	// Provision mode.
	// +listType=map
	// +listMapKey=target
	// +kubebuilder:validation:MaxItems=100
	// +optional
	AttributeMappings []AttributeMapping `json:"attributeMappings,omitempty"`

	// Safeguard pauses a run that would deactivate too many accounts.
	// +kubebuilder:default={}
	// +optional
	Safeguard Safeguard `json:"safeguard,omitempty"`

	// GroupPush pushes Okta groups to the SP as SCIM Groups, with their
	// members among the app's synced users (Provision mode). A group may be
	// used both for assignment and for push.
	// +listType=map
	// +listMapKey=oktaGroup
	// +kubebuilder:validation:MaxItems=100
	// +optional
	GroupPush []GroupPush `json:"groupPush,omitempty"`

	// Interval between runs, from 5m to 720h; the default is 24h. Set the
	// sso.oktaop.io/reconcile-requested-at annotation to run at once.
	// +kubebuilder:default="24h"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('5m') && duration(self) <= duration('720h')",message="must be between 5m and 720h"
	// +optional
	Interval metav1.Duration `json:"interval,omitzero"`

	// Timeout bounds one run (and one pass for the System Log's changes),
	// from 10s to 24h; the default is 30m. A run that outlasts it stops where
	// it is (Synced=False, reason DeadlineExceeded) and is tried again with
	// backoff: a target that hangs holds the namespace's lane no longer.
	// +kubebuilder:default="30m"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('10s') && duration(self) <= duration('24h')",message="must be between 10s and 24h"
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// Suspend stops runs until it is false again.
	// +optional
	Suspend bool `json:"suspend,omitempty"`

	// DryRun computes and reports what a run would change without changing it.
	// +optional
	DryRun bool `json:"dryRun,omitempty"`
}

// SyncTarget is where the SP's accounts live.
type SyncTarget struct {
	// SCIM is a SCIM 2.0 service provider endpoint.
	// +required
	SCIM SCIMTarget `json:"scim"`
}

// SCIMTarget is a SCIM 2.0 endpoint and its credentials.
type SCIMTarget struct {
	// URL is the SCIM base URL (the one that serves /Users).
	// +required
	URL URL `json:"url"`
	// AuthSecretRef selects the Secret key holding the bearer token, or
	// "user:password" for Basic.
	// +required
	AuthSecretRef SecretKeySelector `json:"authSecretRef"`
	// AuthType: Bearer (the default) or Basic.
	// +kubebuilder:default=Bearer
	// +optional
	AuthType SCIMAuthType `json:"authType,omitempty"`
}

// MatchRule pairs an Okta user attribute with an SP account attribute.
type MatchRule struct {
	// OktaAttribute is the Okta user profile attribute compared.
	// +kubebuilder:default=email
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	// +optional
	OktaAttribute string `json:"oktaAttribute,omitempty"`
	// TargetAttribute is the SCIM attribute compared.
	// +kubebuilder:default=userName
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	// +optional
	TargetAttribute string `json:"targetAttribute,omitempty"`
}

// AttributeMapping fills one SP attribute from an Okta expression.
type AttributeMapping struct {
	// Target is the SCIM attribute path, such as name.givenName.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	// +required
	Target string `json:"target"`
	// Expression is a CEL expression (the language Kubernetes uses) over user
	// (the Okta user profile) and appUser (the app-user profile), such as
	// user.firstName + " " + user.lastName or user.email.lowerAscii().
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	// +required
	Expression string `json:"expression"`
	// Apply: CreateAndUpdate (the default) or CreateOnly.
	// +kubebuilder:default=CreateAndUpdate
	// +optional
	Apply MappingApply `json:"apply,omitempty"`
}

// GroupPush is one Okta group pushed to the SP.
type GroupPush struct {
	// OktaGroup is the Okta group's exact name.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	// +required
	OktaGroup string `json:"oktaGroup"`
	// TargetName is the SCIM Group's displayName; the Okta group's name when
	// empty. An SP group of that name that exists already is linked, as
	// Okta's enhanced Group Push does.
	// +kubebuilder:validation:MaxLength=256
	// +optional
	TargetName string `json:"targetName,omitempty"`
}

// Safeguard limits how much one run may deactivate.
type Safeguard struct {
	// MaxDeactivationPercent: a run that would deactivate more than this share
	// of the SP's accounts changes nothing and waits for a person.
	// +kubebuilder:default=20
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	// +optional
	MaxDeactivationPercent *int32 `json:"maxDeactivationPercent,omitempty"`
}

// SyncSummary counts what the last run saw and did.
type SyncSummary struct {
	// OktaUsers is how many Okta users are assigned to the app.
	OktaUsers int32 `json:"oktaUsers"`
	// TargetAccounts is how many accounts the SP holds.
	TargetAccounts int32 `json:"targetAccounts"`
	// Matched is how many Okta users have an SP account.
	Matched int32 `json:"matched"`
	// Unmatched is how many Okta users have no SP account.
	Unmatched int32 `json:"unmatched"`
	// Created is how many SP accounts were created (Provision).
	Created int32 `json:"created"`
	// Updated is how many SP accounts were updated (Provision).
	Updated int32 `json:"updated"`
	// Deactivated is how many SP accounts were set active=false (Provision).
	Deactivated int32 `json:"deactivated"`
	// Reactivated is how many SP accounts were set active=true again (Provision).
	Reactivated int32 `json:"reactivated"`
	// Failed is how many accounts could not be written; see the events.
	Failed int32 `json:"failed"`
	// GroupsPushed is how many SCIM Groups were created or changed.
	GroupsPushed int32 `json:"groupsPushed"`
}

// UnmatchedUser is an Okta user with no SP account.
type UnmatchedUser struct {
	// Login of the Okta user.
	Login string `json:"login"`
	// MatchValue is the value of match.oktaAttribute that found no account.
	MatchValue string `json:"matchValue,omitempty"`
}

// AccountSyncStatus is what the operator observed.
type AccountSyncStatus struct {
	CommonStatus `json:",inline"`

	// LastSyncTime is when the last run finished, successful or not.
	// +optional
	LastSyncTime *metav1.Time `json:"lastSyncTime,omitempty"`
	// LastSuccessfulSyncTime is when the last successful run finished.
	// +optional
	LastSuccessfulSyncTime *metav1.Time `json:"lastSuccessfulSyncTime,omitempty"`
	// NextSyncTime is when the next run is due.
	// +optional
	NextSyncTime *metav1.Time `json:"nextSyncTime,omitempty"`
	// LastSyncDuration is how long the last run took.
	// +optional
	LastSyncDuration *metav1.Duration `json:"lastSyncDuration,omitzero"`
	// Summary counts what the last run saw and did.
	// +optional
	Summary *SyncSummary `json:"summary,omitempty"`
	// Unmatched lists the first 50 Okta users with no SP account.
	// +kubebuilder:validation:MaxItems=50
	// +optional
	Unmatched []UnmatchedUser `json:"unmatched,omitempty"`

	// RecentDeactivations are this sync's runs that deactivated accounts in
	// the last 24 hours: what the org-level safeguard adds up over every
	// AccountSync of one Okta org.
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=500
	// +optional
	RecentDeactivations []DeactivationRecord `json:"recentDeactivations,omitempty"`

	// Following is what following the org's System Log has applied between
	// full runs: a user deactivated or unassigned in Okta is deactivated in
	// the SP within a poll period or two, not at the next run.
	// +optional
	Following *FollowStatus `json:"following,omitempty"`
}

// FollowStatus is the System Log follower's progress for one sync.
type FollowStatus struct {
	// Cursor is the last System Log event applied.
	Cursor LogCursor `json:"cursor"`
	// LastEventTime is when the last event applied happened in Okta; the
	// follower's lag is the time since (while events keep coming).
	// +optional
	LastEventTime *metav1.Time `json:"lastEventTime,omitempty"`
	// LastPassTime is when the last incremental pass ended.
	// +optional
	LastPassTime *metav1.Time `json:"lastPassTime,omitempty"`
	// Passes counts the incremental passes since the last full run, and the
	// rest what they did.
	Passes      int32 `json:"passes"`
	Users       int32 `json:"users"`
	Created     int32 `json:"created"`
	Updated     int32 `json:"updated"`
	Deactivated int32 `json:"deactivated"`
	Reactivated int32 `json:"reactivated"`
	Failed      int32 `json:"failed"`
}

// LogCursor is a place in Okta's System Log: after the events published
// at Published whose IDs are listed, so a restart neither misses nor
// repeats an event, however many share a millisecond.
type LogCursor struct {
	// Published is the last applied event's published time (RFC 3339).
	Published string `json:"published"`
	// EventIDs are the uuids of the events applied at that time.
	// +listType=set
	// +kubebuilder:validation:MaxItems=1000
	// +optional
	EventIDs []string `json:"eventIDs,omitempty"`
}

// DeactivationRecord is one run's deactivations.
type DeactivationRecord struct {
	// At is when the run started.
	At metav1.Time `json:"at"`
	// Count is how many accounts it deactivated.
	Count int32 `json:"count"`
}

// AccountSync keeps a service provider's accounts in step with the Okta users
// assigned to an app, through SCIM 2.0, on an interval or on demand.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=acctsync,categories=sso
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="App",type=string,JSONPath=`.spec.appRef.name`
// +kubebuilder:printcolumn:name="Mode",type=string,JSONPath=`.spec.mode`
// +kubebuilder:printcolumn:name="Last Sync",type=date,JSONPath=`.status.lastSyncTime`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type AccountSync struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec   AccountSyncSpec   `json:"spec"`
	Status AccountSyncStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// AccountSyncList is a list of AccountSyncs.
type AccountSyncList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []AccountSync `json:"items"`
}

func init() {
	SchemeBuilder.Register(&AccountSync{}, &AccountSyncList{})
}
