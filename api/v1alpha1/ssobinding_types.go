package v1alpha1

import (
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// SubjectKind is the kind of an Okta principal.
// +kubebuilder:validation:Enum=Group;User
type SubjectKind string

// Subject kinds.
const (
	SubjectKindGroup SubjectKind = "Group"
	SubjectKindUser  SubjectKind = "User"
)

// BindingMode says which of the app's assignments a binding owns.
// +kubebuilder:validation:Enum=Additive;Authoritative
type BindingMode string

const (
	// BindingModeAdditive owns only the assignments this binding made; those
	// made by hand or by other bindings are left alone.
	BindingModeAdditive BindingMode = "Additive"
	// BindingModeAuthoritative makes the app's assignments exactly the union of
	// its Authoritative bindings; any other assignment is removed.
	BindingModeAuthoritative BindingMode = "Authoritative"
)

// An empty subject list would mean "take everyone off the app" for an
// Authoritative binding, a mass removal made by accident; it is refused for
// both modes, and the message names the deliberate way (spec.active: false).
// +kubebuilder:validation:XValidation:rule="has(self.subjects) && size(self.subjects) > 0",message="needs at least one subject: an empty list would remove everyone from the app; to take everyone off an app on purpose, set the OktaSAMLApp's spec.active to false",fieldPath=".subjects"

// SSOBindingSpec says who may sign in to an app, like a RoleBinding.
type SSOBindingSpec struct {
	// AppRef names the OktaSAMLApp in this namespace; the binding reaches Okta
	// through that app's org.
	// +required
	AppRef LocalObjectReference `json:"appRef"`

	// Subjects are Okta groups (by name) and users (by login), resolved to
	// their Okta IDs. Subjects that do not exist are reported, never skipped
	// silently. At least one.
	// +listType=map
	// +listMapKey=kind
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=1000
	// +optional
	Subjects []Subject `json:"subjects"`

	// Priority of the group assignments this binding makes (0 is highest);
	// Okta uses it to choose the app profile of a user in several groups.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100000
	// +optional
	Priority *int32 `json:"priority,omitempty"`

	// Profile holds app-user profile values (such as role: Editor) applied to
	// every assignment this binding makes.
	// +optional
	Profile map[string]apiextensionsv1.JSON `json:"profile,omitempty"`

	// Mode: Additive (the default) or Authoritative.
	// +kubebuilder:default=Additive
	// +optional
	Mode BindingMode `json:"mode,omitempty"`

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

// Subject is an Okta group or user.
type Subject struct {
	// Kind: Group or User.
	// +required
	Kind SubjectKind `json:"kind"`
	// Name is the group's name or the user's login.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	// +required
	Name string `json:"name"`
}

// ResolvedSubject is a subject with its Okta ID.
type ResolvedSubject struct {
	// Kind: Group or User.
	Kind SubjectKind `json:"kind"`
	// Name as written in the spec.
	Name string `json:"name"`
	// ID in Okta.
	ID string `json:"id"`
}

// SSOBindingStatus is what the operator observed.
type SSOBindingStatus struct {
	CommonStatus `json:",inline"`

	// Resolved lists the subjects found in Okta with their IDs.
	// +optional
	Resolved []ResolvedSubject `json:"resolved,omitempty"`

	// AssignedCount is how many app assignments this binding holds.
	// +optional
	AssignedCount int32 `json:"assignedCount,omitempty"`
}

// SSOBinding assigns Okta groups and users to an OktaSAMLApp. Several bindings
// may target one app; they merge instead of fighting.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=ssob,categories=sso
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="App",type=string,JSONPath=`.spec.appRef.name`
// +kubebuilder:printcolumn:name="Mode",type=string,JSONPath=`.spec.mode`,priority=1
// +kubebuilder:printcolumn:name="Assigned",type=integer,JSONPath=`.status.assignedCount`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type SSOBinding struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec   SSOBindingSpec   `json:"spec"`
	Status SSOBindingStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// SSOBindingList is a list of SSOBindings.
type SSOBindingList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []SSOBinding `json:"items"`
}

func init() {
	SchemeBuilder.Register(&SSOBinding{}, &SSOBindingList{})
}
