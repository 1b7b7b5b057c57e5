package okta

import "testing"

// TestBucketOf checks every call the client makes, and the boundaries of
// Okta's documented bucket list ("Management rate limits": an app's own
// bucket is only the app itself; everything else under /api/v1/apps, its
// users, groups, metadata and keys included, is the apps bucket), against
// the bucket Okta counts it in.
func TestBucketOf(t *testing.T) {
	cases := []struct {
		method, path, want string
	}{
		// The app itself, and everything under it.
		{"GET", "/api/v1/apps/0oa1", BucketApp},
		{"PUT", "/api/v1/apps/0oa1", BucketApp},
		{"POST", "/api/v1/apps/0oa1", BucketApp},
		{"DELETE", "/api/v1/apps/0oa1", BucketApp},
		{"GET", "/api/v1/apps/{id}", BucketApp}, // a route template
		{"GET", "/api/v1/apps/0oa1/", BucketApp},
		{"GET", "/api/v1/apps", BucketApps},
		{"POST", "/api/v1/apps", BucketApps},
		{"POST", "/api/v1/apps/0oa1/lifecycle/activate", BucketApps},
		{"POST", "/api/v1/apps/0oa1/lifecycle/deactivate", BucketApps},
		{"GET", "/api/v1/apps/0oa1/sso/saml/metadata", BucketApps},
		{"GET", "/api/v1/apps/0oa1/credentials/keys", BucketApps},
		{"GET", "/api/v1/apps/0oa1/credentials/keys/kid1", BucketApps},
		{"POST", "/api/v1/apps/0oa1/credentials/keys/generate", BucketApps},
		{"GET", "/api/v1/apps/0oa1/groups", BucketApps},
		{"PUT", "/api/v1/apps/0oa1/groups/00g1", BucketApps},
		{"DELETE", "/api/v1/apps/0oa1/groups/00g1", BucketApps},
		{"GET", "/api/v1/apps/0oa1/users", BucketApps},
		{"POST", "/api/v1/apps/0oa1/users", BucketApps},
		{"GET", "/api/v1/apps/0oa1/users/00u1", BucketApps},
		{"DELETE", "/api/v1/apps/0oa1/users/00u1", BucketApps},
		{"PUT", "/api/v1/apps/0oa1/policies/rst1", BucketApps},
		// Groups: the group itself (no POST) and the rest.
		{"GET", "/api/v1/groups/00g1", BucketGroup},
		{"PUT", "/api/v1/groups/00g1", BucketGroup},
		{"DELETE", "/api/v1/groups/00g1", BucketGroup},
		{"POST", "/api/v1/groups/00g1", BucketGroups},
		{"GET", "/api/v1/groups", BucketGroups},
		{"POST", "/api/v1/groups", BucketGroups},
		{"GET", "/api/v1/groups/00g1/users", BucketGroups},
		// Users: reads of one user, writes of one user, the rest.
		{"GET", "/api/v1/users/00u1", BucketUserGet},
		{"GET", "/api/v1/users/alice@example.com", BucketUserGet},
		{"POST", "/api/v1/users/00u1", BucketUserWrites},
		{"PUT", "/api/v1/users/00u1", BucketUserWrites},
		{"DELETE", "/api/v1/users/00u1", BucketUserWrites},
		{"GET", "/api/v1/users", BucketUsers},
		{"POST", "/api/v1/users", BucketUsers},
		{"GET", "/api/v1/users/00u1/groups", BucketUsers},
		{"POST", "/api/v1/users/00u1/lifecycle/deactivate", BucketUsers},
		// The System Log and the rest.
		{"GET", "/api/v1/logs", BucketLogs},
		{"GET", "/api/v1/events", "/api/v1/events"},
		{"GET", "/oauth2/v1/clients", "/oauth2/v1/clients"},
		{"POST", "/oauth2/v1/clients/0oa1/lifecycle/newSecret", "/oauth2/v1/clients"},
		{"POST", "/oauth2/v1/token", BucketToken},
		{"GET", "/api/v1/idps", BucketOther},
		{"POST", "/api/v1/idps", BucketOther},
		{"GET", "/api/v1/idps/0oa9", BucketOther},
		{"PUT", "/api/v1/idps/0oa9", BucketOther},
		{"DELETE", "/api/v1/idps/0oa9", BucketOther},
		{"POST", "/api/v1/idps/0oa9/lifecycle/activate", BucketOther},
		{"GET", "/api/v1/idps/credentials/keys", BucketOther},
		{"POST", "/api/v1/idps/credentials/keys", BucketOther},
		{"GET", "/api/v1/policies", BucketOther},
		{"GET", "/api/v1/appsettings", BucketOther}, // a prefix of a family's name is not the family
		{"GET", "/.well-known/okta-organization", BucketOther},
	}
	for _, tc := range cases {
		if got := BucketOf(tc.method, tc.path); got != tc.want {
			t.Errorf("BucketOf(%s %s) = %s, want %s", tc.method, tc.path, got, tc.want)
		}
	}
}

// TestWorkforceLimits: every bucket the map names has Okta's documented
// Workforce limit, and the figures are the documented ones.
func TestWorkforceLimits(t *testing.T) {
	for _, r := range bucketRules {
		if _, ok := WorkforceLimits[r.bucket]; !ok {
			t.Errorf("bucket %s has no limit", r.bucket)
		}
	}
	documented := map[string]int{BucketApps: 100, BucketApp: 500, BucketGroups: 500, BucketGroup: 1000,
		BucketUsers: 600, BucketUserWrites: 600, BucketUserGet: 2000, BucketLogs: 120, BucketOther: 1200}
	for bucket, want := range documented {
		if got := WorkforceLimits[bucket]; got != want {
			t.Errorf("%s: %d a minute, Okta documents %d", bucket, got, want)
		}
	}
}
