package okta

import "strings"

// BucketOf names the rate-limit bucket of an API path by endpoint family,
// the way Okta groups its limits: a collection (/api/v1/apps) and one object
// with everything under it (/api/v1/apps/{id}) are separate buckets. The
// emulator uses the same names, so limits set there match what the client
// learns here.
func BucketOf(path string) string {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case len(parts) >= 3 && parts[0] == "api" && parts[1] == "v1":
		family := "/api/v1/" + parts[2]
		if len(parts) == 3 {
			return family
		}
		if parts[2] == "idps" && parts[3] == "credentials" {
			return "/api/v1/idps/credentials"
		}
		return family + "/{id}"
	case len(parts) >= 2 && parts[0] == "oauth2":
		return "/oauth2/v1/token"
	}
	return "default"
}
