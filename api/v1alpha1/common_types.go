package v1alpha1

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// URL is an absolute https URL. Plain http is accepted only for loopback hosts
// (localhost, 127.0.0.1, ::1), so that the local Okta emulator and test
// service providers can be used; Okta itself refuses plain http for real SPs.
//
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=2048
// +kubebuilder:validation:XValidation:rule="isURL(self) && size(url(self).getHostname()) > 0 && (url(self).getScheme() == 'https' || (url(self).getScheme() == 'http' && url(self).getHostname() in ['localhost', '127.0.0.1', '::1']))",message="must be an absolute https URL (plain http only for localhost, 127.0.0.1 or ::1)"
type URL string

// ResourceName is the name of a Kubernetes object in the same namespace.
//
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=253
// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
type ResourceName string

// SecretKeyName is a key of a Secret's data.
//
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=253
// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
type SecretKeyName string

// LocalObjectReference names an object in the same namespace.
type LocalObjectReference struct {
	// Name of the object.
	// +required
	Name ResourceName `json:"name"`
}

// SecretKeySelector selects one key of a Secret in the same namespace.
type SecretKeySelector struct {
	// Name of the Secret.
	// +required
	Name ResourceName `json:"name"`
	// Key within the Secret's data.
	// +required
	Key SecretKeyName `json:"key"`
}

// DeletionPolicy says what happens in Okta when the Kubernetes object is deleted.
// +kubebuilder:validation:Enum=Delete;Orphan
type DeletionPolicy string

const (
	// DeletionPolicyDelete deactivates, then deletes, the object in Okta.
	DeletionPolicyDelete DeletionPolicy = "Delete"
	// DeletionPolicyOrphan leaves the object in Okta untouched.
	DeletionPolicyOrphan DeletionPolicy = "Orphan"
)

// Origin says how the operator came to own an object in Okta.
// +kubebuilder:validation:Enum=Created;Adopted
type Origin string

const (
	// OriginCreated: the operator created it; deletionPolicy applies.
	OriginCreated Origin = "Created"
	// OriginAdopted: it was made by hand and adopted on request (the
	// sso.oktaop.io/adopt annotation); it is left in Okta when the object
	// is deleted unless the annotation says "Delete".
	OriginAdopted Origin = "Adopted"
)

// ReconcileRequestStatus records the last manual reconcile request handled.
type ReconcileRequestStatus struct {
	// LastHandledReconcileAt is the value of the
	// sso.oktaop.io/reconcile-requested-at annotation that the last finished
	// reconcile handled. A client that set the annotation knows its request
	// was served when this field shows the same value.
	// +optional
	LastHandledReconcileAt string `json:"lastHandledReconcileAt,omitempty"`
}

// GetLastHandledReconcileRequest returns the last handled reconcile request.
func (in ReconcileRequestStatus) GetLastHandledReconcileRequest() string {
	return in.LastHandledReconcileAt
}

// SetLastHandledReconcileRequest records a handled reconcile request.
func (in *ReconcileRequestStatus) SetLastHandledReconcileRequest(token string) {
	in.LastHandledReconcileAt = token
}

// CommonStatus is the part of status every kind has.
type CommonStatus struct {
	ReconcileRequestStatus `json:",inline"`

	// ObservedGeneration is the generation last reconciled without error.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions: Ready, Synced and, while retrying cannot help, Stalled.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// Accessors the shared reconcile pieces use on every kind.

// GetCommonStatus returns the status every kind has.
func (in *OktaSAMLApp) GetCommonStatus() *CommonStatus { return &in.Status.CommonStatus }

// GetCommonStatus returns the status every kind has.
func (in *SSOBinding) GetCommonStatus() *CommonStatus { return &in.Status.CommonStatus }

// GetCommonStatus returns the status every kind has.
func (in *AccountSync) GetCommonStatus() *CommonStatus { return &in.Status.CommonStatus }

// GetCommonStatus returns the status every kind has.
func (in *OktaSAMLIdentityProvider) GetCommonStatus() *CommonStatus { return &in.Status.CommonStatus }

// StatusSnapshot returns a copy of the whole status, to tell whether a
// reconcile changed it.
func (in *OktaSAMLIdentityProvider) StatusSnapshot() any { return *in.Status.DeepCopy() }

// IsSuspended tells whether spec.suspend is set.
func (in *OktaSAMLIdentityProvider) IsSuspended() bool { return in.Spec.Suspend }

// ReconcileInterval is spec.interval, or the schema's default when unset.
func (in *OktaSAMLIdentityProvider) ReconcileInterval() time.Duration {
	return orInterval(in.Spec.Interval, 10*time.Minute)
}

// StatusSnapshot returns a copy of the whole status, to tell whether a
// reconcile changed it.
func (in *OktaSAMLApp) StatusSnapshot() any { return *in.Status.DeepCopy() }

// StatusSnapshot returns a copy of the whole status, to tell whether a
// reconcile changed it.
func (in *SSOBinding) StatusSnapshot() any { return *in.Status.DeepCopy() }

// StatusSnapshot returns a copy of the whole status, to tell whether a
// reconcile changed it.
func (in *AccountSync) StatusSnapshot() any { return *in.Status.DeepCopy() }

// IsSuspended tells whether spec.suspend is set.
func (in *OktaSAMLApp) IsSuspended() bool { return in.Spec.Suspend }

// IsSuspended tells whether spec.suspend is set.
func (in *SSOBinding) IsSuspended() bool { return in.Spec.Suspend }

// IsSuspended tells whether spec.suspend is set.
func (in *AccountSync) IsSuspended() bool { return in.Spec.Suspend }

// ReconcileInterval is spec.interval, or the schema's default when unset.
func (in *OktaSAMLApp) ReconcileInterval() time.Duration {
	return orInterval(in.Spec.Interval, 10*time.Minute)
}

// ReconcileInterval is spec.interval, or the schema's default when unset.
func (in *SSOBinding) ReconcileInterval() time.Duration {
	return orInterval(in.Spec.Interval, 10*time.Minute)
}

// ReconcileInterval is spec.interval, or the schema's default when unset.
func (in *AccountSync) ReconcileInterval() time.Duration {
	return orInterval(in.Spec.Interval, 24*time.Hour)
}

func orInterval(d metav1.Duration, def time.Duration) time.Duration {
	if d.Duration > 0 {
		return d.Duration
	}
	return def
}

// ReconcileRequestedAt returns the value of the manual reconcile annotation and
// whether it is set.
func ReconcileRequestedAt(annotations map[string]string) (string, bool) {
	v, ok := annotations[ReconcileRequestAnnotation]
	return v, ok && v != ""
}
