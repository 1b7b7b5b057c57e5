package org

// Errors that say how a failure to reach the org shows on the object; the
// controllers map them to condition reasons.

// SecretError is a missing or incomplete Secret (SecretNotFound): a person
// must fix it, and the Secret is watched.
type SecretError struct{ Msg string }

func (e *SecretError) Error() string { return e.Msg }

// DependencyError is an org object that is not there yet
// (DependencyNotReady); it is watched.
type DependencyError struct{ Msg string }

func (e *DependencyError) Error() string { return e.Msg }

// InvalidError is a spec that cannot be applied as written (InvalidSpec).
type InvalidError struct{ Msg string }

func (e *InvalidError) Error() string { return e.Msg }

// NotAllowedError is a namespace a ClusterOktaOrg's conditions do not allow
// (OrgNotAllowed); nothing was sent to Okta.
type NotAllowedError struct{ Msg string }

func (e *NotAllowedError) Error() string { return e.Msg }
