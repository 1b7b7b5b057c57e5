package scim

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Error is a refusal or a failure of the service provider, with the SCIM
// error body's scimType and detail when it sent one.
type Error struct {
	Op     string
	Status int
	// ScimType is RFC 7644's error type: uniqueness, invalidValue,
	// invalidFilter, mutability, tooMany ...
	ScimType string
	Detail   string
	// RetryAfter is the service provider's Retry-After, when it sent one.
	RetryAfter time.Duration

	unavailable, invalidResponse bool
	// refused is the egress check's refusal: nothing was sent.
	refused error
}

// Unwrap gives the egress check's refusal, when it was one.
func (e *Error) Unwrap() error { return e.refused }

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "scim %s:", e.Op)
	if e.Status != 0 {
		fmt.Fprintf(&b, " %d", e.Status)
	}
	if e.ScimType != "" {
		fmt.Fprintf(&b, " %s", e.ScimType)
	}
	if e.Detail != "" {
		fmt.Fprintf(&b, ": %s", e.Detail)
	}
	return b.String()
}

func (e *Error) retryable() bool {
	return e.unavailable || e.Status == http.StatusTooManyRequests || e.Status >= 500
}

func asError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// IsNotFound: 404.
func IsNotFound(err error) bool { e, ok := asError(err); return ok && e.Status == http.StatusNotFound }

// IsUniqueness: the account exists already (409, or scimType uniqueness).
func IsUniqueness(err error) bool {
	e, ok := asError(err)
	return ok && (e.ScimType == "uniqueness" || e.Status == http.StatusConflict)
}

// IsAuth: the service provider refused the credential (401, 403).
func IsAuth(err error) bool {
	e, ok := asError(err)
	return ok && (e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden)
}

// IsRateLimited: 429, with when to retry if the service provider said.
func IsRateLimited(err error) (time.Duration, bool) {
	e, ok := asError(err)
	if !ok || e.Status != http.StatusTooManyRequests {
		return 0, false
	}
	return e.RetryAfter, true
}

// IsUnavailable: no answer, a 5xx, or a 429 after the retries.
func IsUnavailable(err error) bool { e, ok := asError(err); return ok && e.retryable() }

// IsInvalidResponse: an answer that is not SCIM (garbage JSON, a list that
// pages inconsistently).
func IsInvalidResponse(err error) bool { e, ok := asError(err); return ok && e.invalidResponse }

// IsInvalid: 400, with the scimType (invalidValue, invalidSyntax ...).
func IsInvalid(err error) (string, bool) {
	e, ok := asError(err)
	if !ok || e.Status != http.StatusBadRequest {
		return "", false
	}
	return e.ScimType, true
}

// errorFrom reads a SCIM error body (RFC 7644 section 3.12): its scimType
// when it is one, and its detail cut to maxDetailChars printable
// characters. Any other body is never kept: the target is a team's, and an
// internal page it fronts must not come back through the operator's
// status, events or logs.
func errorFrom(op string, resp *http.Response, body []byte) *Error {
	e := &Error{Op: op, Status: resp.StatusCode, RetryAfter: retryAfter(resp.Header.Get("Retry-After"))}
	var scimErr struct {
		ScimType string `json:"scimType"`
		Detail   string `json:"detail"`
	}
	if json.Unmarshal(body, &scimErr) == nil {
		if scimTypePattern.MatchString(scimErr.ScimType) {
			e.ScimType = scimErr.ScimType
		}
		e.Detail = printable(scimErr.Detail, maxDetailChars)
	}
	return e
}

// scimTypePattern is what a scimType looks like (uniqueness, invalidValue ...).
var scimTypePattern = regexp.MustCompile(`^[A-Za-z]{1,40}$`)

// printable is s with every character that is not a printable one (line
// breaks, controls) made a space, cut to at most n characters.
func printable(s string, n int) string {
	out := make([]rune, 0, min(len(s), n))
	for _, r := range s {
		if len(out) == n {
			return strings.TrimSpace(string(out)) + "…"
		}
		if !unicode.IsPrint(r) {
			r = ' '
		}
		out = append(out, r)
	}
	return strings.TrimSpace(string(out))
}

// retryAfter reads seconds or an HTTP date.
func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}

func basicAuth(userPassword string) string {
	return base64.StdEncoding.EncodeToString([]byte(userPassword))
}
