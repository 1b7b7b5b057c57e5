package okta

import (
	"net/http"
	"slices"
	"strings"
)

// Okta's rate-limit buckets the operator's calls fall in, named as Okta's
// "Management rate limits" page and the org's rate-limit dashboard name
// them.
const (
	// BucketApps is every /api/v1/apps* call but the app itself: creates,
	// lists, and everything under an app (its users, groups, metadata,
	// keys, lifecycle, policy). 100 a minute for the whole org.
	BucketApps = "/api/v1/apps"
	// BucketApp is GET, PUT, POST or DELETE of /api/v1/apps/{id} itself.
	BucketApp = "/api/v1/apps/{id}"
	// BucketGroups is every /api/v1/groups* call but the group itself.
	BucketGroups = "/api/v1/groups"
	// BucketGroup is GET, PUT or DELETE of /api/v1/groups/{id} itself.
	BucketGroup = "/api/v1/groups/{id}"
	// BucketUsers is every /api/v1/users* call the two below do not take:
	// creates, lists, a user's groups, lifecycle operations.
	BucketUsers = "/api/v1/users"
	// BucketUserWrites is POST, PUT or DELETE of /api/v1/users/{id} itself.
	BucketUserWrites = "/api/v1/users/{id}"
	// BucketUserGet is GET /api/v1/users/{idOrLogin} itself.
	BucketUserGet = "/api/v1/users/{idOrLogin}"
	// BucketLogs is GET /api/v1/logs, the System Log.
	BucketLogs = "/api/v1/logs"
	// BucketToken is the org authorization server's token endpoint, where
	// a service app gets its access tokens.
	BucketToken = "/oauth2/v1/token"
	// BucketOther is every API call no other bucket takes ("most other API
	// actions"), identity providers among them.
	BucketOther = "/api/v1"
)

// bucketRule maps calls to a bucket: a method (any when empty) and a path
// pattern, whose "{id}" matches one segment and whose trailing "*" matches
// the rest of the path, or nothing.
type bucketRule struct {
	methods []string
	pattern string
	bucket  string
}

// bucketRules is Okta's bucket map, first match wins. The order matters:
// an object's own bucket comes before the family that takes everything
// else under the same prefix.
var bucketRules = []bucketRule{
	{[]string{http.MethodGet, http.MethodPut, http.MethodPost, http.MethodDelete}, "/api/v1/apps/{id}", BucketApp},
	{nil, "/api/v1/apps*", BucketApps},
	{[]string{http.MethodGet, http.MethodPut, http.MethodDelete}, "/api/v1/groups/{id}", BucketGroup},
	{nil, "/api/v1/groups*", BucketGroups},
	{[]string{http.MethodPost, http.MethodPut, http.MethodDelete}, "/api/v1/users/{id}", BucketUserWrites},
	{[]string{http.MethodGet}, "/api/v1/users/{id}", BucketUserGet},
	{nil, "/api/v1/users*", BucketUsers},
	{[]string{http.MethodGet}, "/api/v1/logs", BucketLogs},
	{[]string{http.MethodGet}, "/api/v1/events", "/api/v1/events"},
	{nil, "/oauth2/v1/clients*", "/oauth2/v1/clients"},
	{[]string{http.MethodGet}, "/api/v1/certificateAuthorities", "/api/v1/certificateAuthorities"},
	{[]string{http.MethodGet}, "/api/v1/devices", "/api/v1/devices"},
	{nil, "/oauth2/v1/token", BucketToken},
}

// WorkforceLimits are the requests a minute Okta documents for each bucket
// of a Workforce Identity org (the token endpoint's is an authentication
// limit, chosen in that range). Other plans are lower; an org's own limits
// are learned from its answers' X-Rate-Limit-Limit.
var WorkforceLimits = map[string]int{
	BucketApps:                       100,
	BucketApp:                        500,
	BucketGroups:                     500,
	BucketGroup:                      1000,
	BucketUsers:                      600,
	BucketUserWrites:                 600,
	BucketUserGet:                    2000,
	BucketLogs:                       120,
	"/api/v1/events":                 100,
	"/oauth2/v1/clients":             100,
	"/api/v1/certificateAuthorities": 100,
	"/api/v1/devices":                100,
	BucketToken:                      600,
	BucketOther:                      1200,
}

// BucketOf names the rate-limit bucket Okta counts a call to path with
// method in. Paths may carry "{id}" for any segment (a route template).
func BucketOf(method, path string) string {
	segments := splitPath(path)
	for _, r := range bucketRules {
		if (r.methods == nil || slices.Contains(r.methods, method)) && matchPattern(splitPath(r.pattern), segments) {
			return r.bucket
		}
	}
	return BucketOther
}

func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

// matchPattern: each pattern segment matches its path segment ("{id}" any
// one); a last segment ending in "*" matches its prefix and anything after.
func matchPattern(pattern, path []string) bool {
	for i, seg := range pattern {
		if last := i == len(pattern)-1; last && strings.HasSuffix(seg, "*") {
			return i < len(path) && path[i] == strings.TrimSuffix(seg, "*")
		}
		if i >= len(path) || (seg != "{id}" && seg != path[i]) {
			return false
		}
	}
	return len(path) == len(pattern)
}
