package emulator_test

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/oktaop/okta-sso-operator/pkg/emulator"
)

// org starts an emulated org for raw HTTP tests.
func org(t *testing.T, cfg emulator.Config) (*emulator.Server, string) {
	t.Helper()
	cfg.APIToken = "t"
	cfg.KeyBits = 1024
	srv, err := emulator.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv, srv.BaseURL()
}

func call(t *testing.T, method, url, body string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "SSWS t")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestRateLimitHeadersAnd429(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 30, 500e6, time.UTC)
	_, base := org(t, emulator.Config{Now: func() time.Time { return now }, RateLimits: map[string]int{"/api/v1/groups": 3}})
	for i := 1; i <= 3; i++ {
		resp, _ := call(t, "GET", base+"/api/v1/groups", "")
		if resp.StatusCode != 200 || resp.Header.Get("X-Rate-Limit-Limit") != "3" || resp.Header.Get("X-Rate-Limit-Remaining") != strconv.Itoa(3-i) {
			t.Fatalf("request %d: %d with limit %s remaining %s", i, resp.StatusCode, resp.Header.Get("X-Rate-Limit-Limit"), resp.Header.Get("X-Rate-Limit-Remaining"))
		}
	}
	resp, body := call(t, "GET", base+"/api/v1/groups", "")
	if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, "E0000047") {
		t.Fatalf("over the limit: %d %s", resp.StatusCode, body)
	}
	reset, _ := strconv.ParseInt(resp.Header.Get("X-Rate-Limit-Reset"), 10, 64)
	if want := now.Add(time.Minute).Truncate(time.Second).Add(time.Second).Unix(); reset != want {
		t.Errorf("reset = %d, want %d (the window's end, rounded up)", reset, want)
	}
	// Other buckets are not affected.
	if resp, _ := call(t, "GET", base+"/api/v1/users", ""); resp.StatusCode != 200 {
		t.Errorf("another bucket answered %d", resp.StatusCode)
	}
}

// TestOktasBuckets: an app's own bucket is the app alone; its metadata and
// assignments count against the org-wide apps bucket, as at Okta, with
// Okta's Workforce limits unless told otherwise.
func TestOktasBuckets(t *testing.T) {
	srv, base := org(t, emulator.Config{})
	_, created := call(t, "POST", base+"/api/v1/apps", `{"name":"bookmark","label":"Wiki","signOnMode":"BOOKMARK","settings":{"app":{"url":"https://wiki.example.com","requestIntegration":false}}}`)
	var app struct{ ID string }
	if err := json.Unmarshal([]byte(created), &app); err != nil || app.ID == "" {
		t.Fatalf("creating an app: %s", created)
	}
	srv.ResetStats()
	for path, want := range map[string]string{"/api/v1/apps/" + app.ID: "500", "/api/v1/apps/" + app.ID + "/groups": "100", "/api/v1/apps/" + app.ID + "/users": "100"} {
		if resp, _ := call(t, "GET", base+path, ""); resp.Header.Get("X-Rate-Limit-Limit") != want {
			t.Errorf("GET %s: limit %s, want %s", path, resp.Header.Get("X-Rate-Limit-Limit"), want)
		}
	}
	if got := srv.Stats().Buckets; got["/api/v1/apps"] != 2 || got["/api/v1/apps/{id}"] != 1 || len(got) != 2 {
		t.Errorf("calls by bucket = %v, want 2 in /api/v1/apps and 1 in /api/v1/apps/{id}", got)
	}
}

func TestAShorterRateLimitWindow(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 30, 0, time.UTC)
	clock := func() time.Time { return now }
	_, base := org(t, emulator.Config{Now: clock, RateLimitWindow: 5 * time.Second, RateLimits: map[string]int{"/api/v1/groups": 2}})
	for i := range 2 {
		if resp, _ := call(t, "GET", base+"/api/v1/groups", ""); resp.StatusCode != 200 {
			t.Fatalf("request %d: %d", i, resp.StatusCode)
		}
	}
	resp, _ := call(t, "GET", base+"/api/v1/groups", "")
	reset, _ := strconv.ParseInt(resp.Header.Get("X-Rate-Limit-Reset"), 10, 64)
	if resp.StatusCode != http.StatusTooManyRequests || reset != now.Add(5*time.Second).Unix() {
		t.Fatalf("over the limit: %d, reset %d; want 429 and the window's end 5s on", resp.StatusCode, reset)
	}
	now = now.Add(5 * time.Second)
	if resp, _ := call(t, "GET", base+"/api/v1/groups", ""); resp.StatusCode != 200 || resp.Header.Get("X-Rate-Limit-Remaining") != "1" {
		t.Errorf("in the next window: %d, remaining %s", resp.StatusCode, resp.Header.Get("X-Rate-Limit-Remaining"))
	}
}

func TestControlEndpoints(t *testing.T) {
	srv, base := org(t, emulator.Config{})
	resp, _ := call(t, "PUT", base+"/emulator/faults", `{"force5xx": 2, "errorStatus": 503, "latency": "5ms"}`)
	if resp.StatusCode != 200 {
		t.Fatalf("setting faults: %d", resp.StatusCode)
	}
	for i, want := range []int{503, 503, 200} {
		start := time.Now()
		if resp, _ := call(t, "GET", base+"/api/v1/groups", ""); resp.StatusCode != want {
			t.Errorf("request %d answered %d, want %d", i, resp.StatusCode, want)
		}
		if time.Since(start) < 5*time.Millisecond {
			t.Errorf("request %d came back before the injected latency", i)
		}
	}
	if resp, _ := call(t, "PUT", base+"/emulator/faults", `{"errorRate": 2}`); resp.StatusCode != 400 {
		t.Errorf("an error rate of 2 was accepted")
	}
	if resp, body := call(t, "PUT", base+"/emulator/rate-limits", `{"/api/v1/idps": 7}`); resp.StatusCode != 400 || !strings.Contains(body, "not one of Okta's buckets") {
		t.Errorf("a bucket Okta does not have was accepted: %d %s", resp.StatusCode, body)
	}
	if resp, _ := call(t, "PUT", base+"/emulator/rate-limits", `{"/api/v1/apps": 7}`); resp.StatusCode != 200 {
		t.Errorf("setting a limit: %d", resp.StatusCode)
	}
	resp, _ = call(t, "GET", base+"/api/v1/apps", "")
	if resp.Header.Get("X-Rate-Limit-Limit") != "7" {
		t.Errorf("limit after PUT /emulator/rate-limits = %s, want 7", resp.Header.Get("X-Rate-Limit-Limit"))
	}

	_, body := call(t, "GET", base+"/emulator/stats", "")
	var stats emulator.Stats
	if err := json.Unmarshal([]byte(body), &stats); err != nil {
		t.Fatal(err)
	}
	if stats.Routes["GET /api/v1/groups"] != 3 || stats.RouteStatuses["GET /api/v1/groups"]["503"] != 2 || stats.Routes["GET /api/v1/apps"] != 1 {
		t.Errorf("stats = %+v", stats)
	}
	call(t, "DELETE", base+"/emulator/stats", "")
	if srv.Stats().Total != 0 {
		t.Errorf("stats not reset: %+v", srv.Stats())
	}
}

func TestValidationErrorsMatchOkta(t *testing.T) {
	_, base := org(t, emulator.Config{})
	tests := map[string]struct {
		method, path, body string
		status             int
		code, cause        string
	}{
		"custom app without an ACS URL": {"POST", "/api/v1/apps", `{"label":"x","signOnMode":"SAML_2_0","settings":{"signOn":{"audience":"a"}}}`, 400, "E0000001", "ssoAcsUrl"},
		"unknown catalog app":           {"POST", "/api/v1/apps", `{"name":"office365","label":"x","signOnMode":"SAML_2_0","settings":{"app":{}}}`, 400, "E0000001", "office365"},
		"unknown user attribute":        {"POST", "/api/v1/users", `{"profile":{"login":"a@example.com","email":"a@example.com","notValid":"x"}}`, 400, "E0000001", "'notValid' is not defined"},
		"missing app":                   {"GET", "/api/v1/apps/0oa00000000000000000", "", 404, "E0000007", ""},
		"bad key validity":              {"POST", "/api/v1/apps/0oa00000000000000000/credentials/keys/generate?validityYears=11", "", 400, "E0000001", "2 to 10"},
		"body that is not JSON":         {"POST", "/api/v1/groups", `{`, 400, "E0000003", ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			resp, body := call(t, tc.method, base+tc.path, tc.body)
			var e struct {
				ErrorCode, ErrorLink, ErrorID string
				ErrorCauses                   []struct{ ErrorSummary string }
			}
			if err := json.Unmarshal([]byte(body), &e); err != nil || resp.StatusCode != tc.status || e.ErrorCode != tc.code || e.ErrorLink != tc.code || len(e.ErrorID) != 25 {
				t.Fatalf("got %d %s", resp.StatusCode, body)
			}
			if tc.cause != "" && (len(e.ErrorCauses) == 0 || !strings.Contains(e.ErrorCauses[0].ErrorSummary, tc.cause)) {
				t.Errorf("causes %+v do not mention %q", e.ErrorCauses, tc.cause)
			}
		})
	}
}

func TestSeedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "seed.yaml")
	seed := `groups:
  - name: Engineering
users:
  - login: alice@example.com
    firstName: Alice
    lastName: Smith
    password: pw
    groups: [Engineering]
    profile: {title: Engineer}
`
	if err := os.WriteFile(path, []byte(seed), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := emulator.LoadSeed(path)
	if err != nil {
		t.Fatal(err)
	}
	_, base := org(t, emulator.Config{Seed: s})
	_, body := call(t, "GET", base+"/api/v1/users/alice@example.com", "")
	if !strings.Contains(body, `"title":"Engineer"`) || !strings.Contains(body, `"status":"ACTIVE"`) {
		t.Errorf("seeded user = %s", body)
	}
	_, body = call(t, "GET", base+`/api/v1/groups?search=profile.name+eq+%22Engineering%22`, "")
	var groups []struct{ ID string }
	_ = json.Unmarshal([]byte(body), &groups)
	if len(groups) != 1 {
		t.Fatalf("groups named Engineering: %s", body)
	}
	_, body = call(t, "GET", base+"/api/v1/groups/"+groups[0].ID+"/users", "")
	if !strings.Contains(body, "alice@example.com") {
		t.Errorf("alice is not in Engineering: %s", body)
	}

	bad := filepath.Join(t.TempDir(), "bad.yaml")
	_ = os.WriteFile(bad, []byte("users:\n  - login: x\n    shoeSize: 9\n"), 0o600)
	if _, err := emulator.LoadSeed(bad); err == nil {
		t.Error("a seed with an unknown field was accepted")
	}
}

func TestStatsCountRequestsInFlight(t *testing.T) {
	srv, base := org(t, emulator.Config{Faults: emulator.Faults{Latency: emulator.Duration(300 * time.Millisecond)}})
	done := make(chan struct{})
	for range 5 {
		go func() {
			call(t, "GET", base+"/api/v1/groups", "")
			done <- struct{}{}
		}()
	}
	for range 5 {
		<-done
	}
	if got := srv.Stats().MaxInFlight; got != 5 {
		t.Errorf("MaxInFlight = %d, want the 5 requests answered at once", got)
	}
	srv.ResetStats()
	if got := srv.Stats().MaxInFlight; got != 0 {
		t.Errorf("after a reset MaxInFlight = %d", got)
	}
}

// A request that comes back to a bucket before the reset its 429 gave is
// counted; one within the grace (already on its way), one to another bucket
// and one after the reset are not.
func TestEarlyRequestsAfterA429(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 30, 0, time.UTC)
	srv, base := org(t, emulator.Config{Now: func() time.Time { return now }, RateLimitWindow: 10 * time.Second})
	srv.SetFaults(emulator.Faults{Force429: 1})
	resp, _ := call(t, "GET", base+"/api/v1/groups", "")
	reset, _ := strconv.ParseInt(resp.Header.Get("X-Rate-Limit-Reset"), 10, 64)
	if resp.StatusCode != http.StatusTooManyRequests || reset != now.Add(10*time.Second).Unix() {
		t.Fatalf("forced 429: %d, reset %d", resp.StatusCode, reset)
	}
	for _, step := range []struct {
		after time.Duration
		path  string
		early int
	}{
		{500 * time.Millisecond, "/api/v1/groups", 0}, // within the grace
		{2 * time.Second, "/api/v1/users", 0},         // another bucket
		{3 * time.Second, "/api/v1/groups", 1},        // before the reset
		{10 * time.Second, "/api/v1/groups", 1},       // at the reset
	} {
		now = time.Date(2026, 11, 24, 12, 0, 30, 0, time.UTC).Add(step.after)
		call(t, "GET", base+step.path, "")
		if got := srv.Stats().EarlyRequests; got != step.early {
			t.Errorf("after %s to %s: %d early requests, want %d", step.after, step.path, got, step.early)
		}
	}
}

// A throttled request finds its bucket spent: it and the requests after it
// get 429 until the window's end, as when the org's other clients used it.
func TestThrottleRate(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 30, 0, time.UTC)
	srv, base := org(t, emulator.Config{Now: func() time.Time { return now }, RateLimitWindow: 10 * time.Second,
		Faults: emulator.Faults{ThrottleRate: 1}})
	resp, _ := call(t, "GET", base+"/api/v1/groups", "")
	reset, _ := strconv.ParseInt(resp.Header.Get("X-Rate-Limit-Reset"), 10, 64)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("X-Rate-Limit-Remaining") != "0" || reset != now.Add(10*time.Second).Unix() {
		t.Fatalf("throttled: %d, remaining %s, reset %d", resp.StatusCode, resp.Header.Get("X-Rate-Limit-Remaining"), reset)
	}
	srv.SetFaults(emulator.Faults{})
	if resp, _ := call(t, "GET", base+"/api/v1/groups", ""); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("the next request in the window answered %d, want 429", resp.StatusCode)
	}
	if resp, _ := call(t, "GET", base+"/api/v1/users", ""); resp.StatusCode != http.StatusOK {
		t.Errorf("another bucket answered %d", resp.StatusCode)
	}
	now = now.Add(10 * time.Second)
	if resp, _ := call(t, "GET", base+"/api/v1/groups", ""); resp.StatusCode != http.StatusOK {
		t.Errorf("after the window answered %d", resp.StatusCode)
	}

	// The share: each request in a window of its own.
	srv.SetFaults(emulator.Faults{ThrottleRate: 0.5, ErrorRate: 0.25})
	srv.ResetStats()
	for range 200 {
		now = now.Add(10 * time.Second)
		call(t, "GET", base+"/api/v1/groups", "")
	}
	st := srv.Stats().Statuses
	for code, want := range map[string]int{"429": 100, "500": 50, "200": 50} {
		if n := st[code]; n < want/2 || n > want*3/2 {
			t.Errorf("%s answered %d times of 200, want about %d: %v", code, n, want, st)
		}
	}
	if resp, _ := call(t, "PUT", base+"/emulator/faults", `{"errorRate": 0.6, "throttleRate": 0.6}`); resp.StatusCode != 400 {
		t.Errorf("rates over 1 together were accepted")
	}
}
