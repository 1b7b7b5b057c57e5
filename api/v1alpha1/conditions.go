package v1alpha1

// Condition types. Every kind reports Ready and Synced; Stalled is present only
// while retrying cannot help (the spec or a referenced object must change first).
const (
	// ReadyCondition is True when the object is in effect in Okta (and, for
	// AccountSync, in the service provider) as its spec describes.
	ReadyCondition = "Ready"
	// SyncedCondition is True when the last reconcile reached Okta and applied
	// the spec without error.
	SyncedCondition = "Synced"
	// StalledCondition is True while the operator has stopped retrying because
	// a person must change something first.
	StalledCondition = "Stalled"
)

// Condition reasons. Events use the same strings.
const (
	// ReconcileSucceededReason: the spec is applied and nothing is pending.
	ReconcileSucceededReason = "ReconcileSucceeded"
	// ProgressingReason: work has started and is not finished yet.
	ProgressingReason = "Progressing"
	// SuspendedReason: spec.suspend is true; nothing is read or written.
	SuspendedReason = "Suspended"
	// DeletingReason: the object is being deleted under its deletion policy.
	DeletingReason = "Deleting"

	// InvalidSpecReason: the spec cannot be applied as written; the message
	// says which field to change. Stalled=True accompanies it.
	InvalidSpecReason = "InvalidSpec"
	// ThrottledReason: Okta's rate limit (or the operator's share of it) is
	// used up; the reconcile is retried after the reset time.
	ThrottledReason = "Throttled"
	// AuthFailedReason: Okta refused the org credentials (401/403); the org
	// Secret is watched and a fix is picked up at once.
	AuthFailedReason = "AuthFailed"
	// ReconcileErrorReason: a transient failure (5xx, timeout, conflict);
	// retried with backoff.
	ReconcileErrorReason = "ReconcileError"
	// SecretNotFoundReason: a referenced Secret or one of its keys is missing.
	SecretNotFoundReason = "SecretNotFound"
	// DependencyNotReadyReason: a referenced OktaSAMLApp is missing or not Ready.
	DependencyNotReadyReason = "DependencyNotReady"

	// InactiveReason: the OktaSAMLApp is INACTIVE in Okta, as spec.active asks.
	InactiveReason = "Inactive"
	// KeyRotationPendingReason: a new IdP signing key is published next to the
	// active one and waits for promotion.
	KeyRotationPendingReason = "KeyRotationPending"
	// DriftCorrectedReason: a change made in Okta by hand was put back.
	DriftCorrectedReason = "DriftCorrected"
	// RecreatedReason: the Okta app was deleted by hand and has been created again.
	RecreatedReason = "Recreated"
	// NotOwnedReason: the Okta object the ID annotation names is not this
	// object's to manage: made by hand and not adopted on purpose (the
	// sso.oktaop.io/adopt annotation), of a kind that cannot be adopted, or
	// managed by another object. Nothing was written in Okta, and deleting
	// this object deletes nothing there. Stalled=True accompanies it.
	NotOwnedReason = "NotOwned"
	// OrgNotAllowedReason: the object's namespace is not among the
	// namespaces its ClusterOktaOrg's conditions allow; no Okta call was
	// made. A cluster admin can change the org's spec.conditions.
	OrgNotAllowedReason = "OrgNotAllowed"
	// PolicyDeniedReason: the tenant policy of the ClusterOktaOrg refuses
	// what the object asks (a host, a group, a limit ...); nothing was
	// written to Okta, and what the object already has there is kept.
	PolicyDeniedReason = "PolicyDenied"
	// DeprecatedReason (an event): the object uses a form that still works
	// in this release but will go (orgRef.secretName); the message says
	// what to write instead.
	DeprecatedReason = "Deprecated"
	// ReleasedReason (an event): the object was deleted and the Okta object
	// it adopted (or, under deletionPolicy Orphan, created) was left in
	// Okta with the operator's owner note removed.
	ReleasedReason = "Released"

	// SubjectNotFoundReason: an SSOBinding subject (group name or user login)
	// does not exist in Okta.
	SubjectNotFoundReason = "SubjectNotFound"
	// ConflictReason: another SSOBinding, older than this one, gives one of
	// this binding's subjects another priority or profile on the same app;
	// the older binding's values are applied, and the message names it.
	ConflictReason = "Conflict"

	// SafeguardTrippedReason: an AccountSync run would deactivate more accounts
	// than spec.safeguard.maxDeactivationPercent allows; it changed nothing and
	// waits for a person.
	SafeguardTrippedReason = "SafeguardTripped"
	// SourceIncompleteReason: the listing of the app's Okta users failed or
	// was cut short; the run changed nothing and deactivated nobody.
	SourceIncompleteReason = "SourceIncomplete"
	// TargetUnavailableReason: the service provider did not answer, or
	// answered 5xx or 429 after the retries; nothing was deactivated.
	TargetUnavailableReason = "TargetUnavailable"
	// InvalidResponseReason: the service provider answered something that
	// is not SCIM, or paged inconsistently; nothing was deactivated.
	InvalidResponseReason = "InvalidResponse"
	// ProvisioningFailedReason: Okta refused a step of an Org2Org app's
	// provisioning (the connection, its features, a group push); the
	// message carries Okta's error; retried.
	ProvisioningFailedReason = "ProvisioningFailed"
	// DeadlineExceededReason: an AccountSync run did not finish within
	// spec.timeout; it stopped where it was (the writes made stay, none is
	// repeated: the next run plans from what the target holds).
	DeadlineExceededReason = "DeadlineExceeded"
	// DryRunReason: spec.dryRun is true; the run computed its plan, reported
	// it in status and an event, and wrote nothing.
	DryRunReason = "DryRun"
	// FollowedSystemLogReason (an event): an incremental pass applied the
	// users the org's System Log named since the last pass.
	FollowedSystemLogReason = "FollowedSystemLog"
)

// Annotations understood on every kind.
const (
	// ReconcileRequestAnnotation asks for a reconcile at once (the "sync now"
	// button); the value is echoed in status.lastHandledReconcileAt.
	ReconcileRequestAnnotation = "sso.oktaop.io/reconcile-requested-at"
	// AppIDAnnotation holds the Okta app ID. Setting it by hand adopts an
	// existing Okta app; it survives backup and restore.
	AppIDAnnotation = "sso.oktaop.io/app-id"
	// IdPIDAnnotation holds the Okta identity provider ID of an
	// OktaSAMLIdentityProvider; with AdoptAnnotation, setting it by hand
	// adopts an existing SAML 2.0 IdP.
	IdPIDAnnotation = "sso.oktaop.io/idp-id"
	// AdoptAnnotation, beside an ID annotation, adopts an Okta object the
	// operator did not make: "true" (or "Orphan") adopts it and leaves it
	// in Okta when the Kubernetes object is deleted; "Delete" adopts it and
	// lets spec.deletionPolicy apply as to an object the operator created.
	// Without it, an object made by hand is never written or deleted.
	AdoptAnnotation = "sso.oktaop.io/adopt"
	// CreatePendingAnnotation is written just before an Okta create call, so a
	// crash between the create and recording the ID is recognised and the
	// existing app adopted instead of duplicated.
	CreatePendingAnnotation = "sso.oktaop.io/create-pending"
	// PromoteSigningKeyAnnotation promotes a staged IdP signing key at once
	// instead of waiting for spec.signingKey.promoteAfter; the value is
	// echoed in status.lastHandledPromoteAt. Like every request annotation,
	// the operator never edits or removes it: a new value is a new request.
	PromoteSigningKeyAnnotation = "sso.oktaop.io/promote-signing-key"
	// RotateSigningKeyAnnotation starts a staged IdP signing key rotation at
	// once (a suspected leak, a compliance calendar) instead of waiting for
	// the active key to near expiry; the value is echoed in
	// status.lastHandledRotateAt.
	RotateSigningKeyAnnotation = "sso.oktaop.io/rotate-signing-key"

	// Finalizer keeps an object until its Okta side is cleaned up.
	Finalizer = "sso.oktaop.io/finalizer"
)
