package emulator_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/oktaop/okta-sso-operator/pkg/emulator"
)

// get calls the org's management API with its token.
func get(base, token, path string) (int, string) {
	req, _ := http.NewRequest(http.MethodGet, base+path, nil)
	req.Header.Set("Authorization", "SSWS "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// An org for a test: start it, seed it, call it, read what was called.
func Example() {
	org, err := emulator.Start(emulator.Config{APIToken: "test-token", OrgName: "acme"})
	if err != nil {
		panic(err)
	}
	defer org.Close()

	if err := org.Seed(&emulator.Seed{
		Groups: []emulator.SeedGroup{{Name: "Engineering"}},
		Users:  []emulator.SeedUser{{Login: "ann@example.com", FirstName: "Ann", LastName: "Lee", Groups: []string{"Engineering"}}},
	}); err != nil {
		panic(err)
	}

	status, body := get(org.BaseURL(), "test-token", "/api/v1/users?q=ann")
	fmt.Println(status, strings.Contains(body, `"login":"ann@example.com"`))

	org.SetFaults(emulator.Faults{ErrorRate: 1})
	status, _ = get(org.BaseURL(), "test-token", "/api/v1/groups")
	fmt.Println(status)

	fmt.Println(org.Stats().Routes["GET /api/v1/users"], org.Stats().Statuses["500"])
	// Output:
	// 200 true
	// 500
	// 1 1
}

// Okta's rate limits, per bucket, in windows shorter than Okta's minute.
func Example_rateLimits() {
	org, err := emulator.Start(emulator.Config{APIToken: "t", RateLimits: map[string]int{"/api/v1/groups": 1}})
	if err != nil {
		panic(err)
	}
	defer org.Close()
	first, _ := get(org.BaseURL(), "t", "/api/v1/groups")
	second, body := get(org.BaseURL(), "t", "/api/v1/groups")
	fmt.Println(first, second, strings.Contains(body, "E0000047"))
	// Output: 200 429 true
}
