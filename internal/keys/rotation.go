package keys

import "time"

// SigningKey is one of an app's IdP signing keys, as far as rotation cares.
type SigningKey struct {
	Kid       string
	Created   time.Time
	ExpiresAt time.Time
}

// Rotation is the state the rotation decision reads.
type Rotation struct {
	Now time.Time
	// Active is the key Okta signs with.
	Active SigningKey
	// Next is the published successor, if any (status.signingKey.nextKeyID).
	Next *SigningKey
	// Previous is a key still published after promotion, if any.
	Previous *SigningKey
	// RotateBefore and PromoteAfter come from spec.signingKey.
	RotateBefore, PromoteAfter time.Duration
	// PromoteRequested is a promote request not yet served
	// (sso.oktaop.io/promote-signing-key with a new value).
	PromoteRequested bool
	// RotateRequested is a rotate request not yet served
	// (sso.oktaop.io/rotate-signing-key with a new value): start a rotation
	// now, whatever the active key's expiry.
	RotateRequested bool
}

// Step is what to do next in a rotation.
type Step string

// Rotation steps.
const (
	// StepNone: nothing to do now.
	StepNone Step = "None"
	// StepGenerate: make the successor key and publish it beside the active one.
	StepGenerate Step = "Generate"
	// StepPromote: make Okta sign with the successor.
	StepPromote Step = "Promote"
	// StepRetire: stop publishing the previous key.
	StepRetire Step = "Retire"
)

// NextStep decides the rotation's next step and when to look again. The
// order is the rotation's: retire what was promoted, promote what was
// published long enough (or on request), publish a successor when the
// active key nears expiry (or on request).
func NextStep(r Rotation) (Step, time.Duration) {
	switch {
	case r.Previous != nil:
		return StepRetire, 0
	case r.Next != nil && (r.PromoteRequested || !r.Now.Before(r.Next.Created.Add(r.PromoteAfter))):
		return StepPromote, 0
	case r.Next != nil:
		return StepNone, r.Next.Created.Add(r.PromoteAfter).Sub(r.Now)
	case r.RotateRequested || !r.Now.Before(r.Active.ExpiresAt.Add(-r.RotateBefore)):
		return StepGenerate, 0
	}
	return StepNone, r.Active.ExpiresAt.Add(-r.RotateBefore).Sub(r.Now)
}

// ServedRequests tells which pending requests the step serves, so their
// values can be recorded as handled. A rotate request is served by the
// rotation it starts, or by the one already staged; while the previous key
// still retires, it waits. A promote request is served by promoting, or,
// when nothing is staged and no rotation is about to be, by there being
// nothing to promote (so it cannot promote a later rotation early).
func ServedRequests(r Rotation, step Step) (rotate, promote bool) {
	rotate = r.RotateRequested && r.Previous == nil
	promote = r.PromoteRequested && (step == StepPromote || (r.Next == nil && r.Previous == nil && !r.RotateRequested))
	return rotate, promote
}
