package okta

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// APIError is an error answer from Okta, with Okta's error body. It carries
// no request headers, so no credential can leak through it.
type APIError struct {
	// StatusCode is the HTTP status.
	StatusCode int
	// Method and Path name the request (the path holds IDs, never secrets).
	Method, Path string
	// ErrorCode is Okta's code, such as E0000007.
	ErrorCode string
	// ErrorSummary is Okta's one-line description.
	ErrorSummary string
	// ErrorID identifies the error in Okta's logs.
	ErrorID string
	// ErrorCauses are Okta's detailed reasons, such as which field is wrong.
	ErrorCauses []string
	// RetryAt is when a rate-limited request may be sent again.
	RetryAt time.Time
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "okta %s %s: %d", e.Method, e.Path, e.StatusCode)
	if e.ErrorCode != "" {
		fmt.Fprintf(&b, " %s", e.ErrorCode)
	}
	if e.ErrorSummary != "" {
		fmt.Fprintf(&b, " %s", e.ErrorSummary)
	}
	if len(e.ErrorCauses) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(e.ErrorCauses, "; "))
	}
	return b.String()
}

// RateLimitedError says a request was not sent, or was refused, because the
// org's rate limit (or the operator's share of it) is used up until RetryAt.
type RateLimitedError struct {
	Bucket  string
	RetryAt time.Time
	// Local is true when the client refused the request itself because its
	// budget knew the request would be refused, so nothing was sent.
	Local bool
}

// IsNotSent tells whether the client refused a request itself (its rate
// budget was spent), so Okta never saw it.
func IsNotSent(err error) bool {
	var rl *RateLimitedError
	return errors.As(err, &rl) && rl.Local
}

func (e *RateLimitedError) Error() string {
	if e.Local {
		return fmt.Sprintf("okta rate limit budget for %s used up until %s; request not sent", e.Bucket, e.RetryAt.UTC().Format(time.RFC3339))
	}
	return fmt.Sprintf("okta rate limit for %s exceeded until %s", e.Bucket, e.RetryAt.UTC().Format(time.RFC3339))
}

// IsNotFound tells whether Okta answered 404.
func IsNotFound(err error) bool {
	var e *APIError
	return errors.As(err, &e) && e.StatusCode == http.StatusNotFound
}

// IsRateLimited tells whether a request was throttled and when to retry.
func IsRateLimited(err error) (time.Time, bool) {
	var rl *RateLimitedError
	if errors.As(err, &rl) {
		return rl.RetryAt, true
	}
	var e *APIError
	if errors.As(err, &e) && e.StatusCode == http.StatusTooManyRequests {
		return e.RetryAt, true
	}
	return time.Time{}, false
}

// IsInvalid tells whether Okta refused the request's content (400). The
// APIError holds errorCode, errorSummary and errorCauses.
func IsInvalid(err error) (*APIError, bool) {
	var e *APIError
	if errors.As(err, &e) && e.StatusCode == http.StatusBadRequest {
		return e, true
	}
	return nil, false
}

// IsAuth tells whether Okta refused the credentials or their permissions
// (401 or 403).
func IsAuth(err error) bool {
	var e *APIError
	if errors.As(err, &e) {
		return e.StatusCode == http.StatusUnauthorized ||
			(e.StatusCode == http.StatusForbidden && e.ErrorCode != errDeleteForbidden && e.ErrorCode != errGrantedByGroup)
	}
	var te *TokenError
	return errors.As(err, &te)
}

// IsConflict tells whether Okta refused the request because of the object's
// state, such as deleting an ACTIVE app (E0000056).
func IsConflict(err error) bool {
	var e *APIError
	return errors.As(err, &e) && (e.StatusCode == http.StatusConflict || e.ErrorCode == errDeleteForbidden)
}

// errDeleteForbidden is Okta's answer to deleting an app that is still ACTIVE.
const errDeleteForbidden = "E0000056"

// errGrantedByGroup is Okta's answer to removing a user's direct assignment
// while a group still grants the user the app ("Deactivate application for
// user forbidden", a 403 that is not about credentials).
const errGrantedByGroup = "E0000046"

// IsGrantedByGroup tells whether Okta refused to remove a user's direct
// assignment because a group still grants the user the app. Retrying cannot
// help until the group assignment or the membership goes.
func IsGrantedByGroup(err error) bool {
	var e *APIError
	return errors.As(err, &e) && e.ErrorCode == errGrantedByGroup
}

// TokenError is a refusal from Okta's OAuth token endpoint.
type TokenError struct {
	StatusCode  int
	Code        string
	Description string
}

func (e *TokenError) Error() string {
	return fmt.Sprintf("okta token endpoint: %d %s: %s", e.StatusCode, e.Code, e.Description)
}
