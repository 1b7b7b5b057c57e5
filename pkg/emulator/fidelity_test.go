package emulator_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/oktaop/okta-sso-operator/pkg/emulator"
)

// The fidelity test replays every recorded exchange with a real Okta org
// (internal/okta/testdata/okta-api/cassettes) whose endpoint the emulator serves, mapping
// the recorded IDs to the emulator's as they appear, and compares the status
// code and the structure of the answer (JSON keys and value types,
// recursively; XML element paths). Exchanges on endpoints the emulator does
// not serve are out of scope and counted apart.

const cassettesDir = "../../internal/okta/testdata/okta-api/cassettes"

// minMatchRate guards against regressions; docs/emulator.md lists what
// remains and why.
const minMatchRate = 0.95

type cassette struct {
	Interactions []struct {
		Request struct {
			Method string `json:"method"`
			URL    string `json:"url"`
			Body   string `json:"body"`
		} `json:"request"`
		Response struct {
			Code    int                 `json:"code"`
			Body    string              `json:"body"`
			Headers map[string][]string `json:"headers"`
		} `json:"response"`
	} `json:"interactions"`
}

// release is the Okta release a cassette was recorded with, from its first
// answer's Date header, so that the org answers in that release's shapes.
func (c cassette) release() string {
	for _, in := range c.Interactions {
		for _, d := range in.Response.Headers["Date"] {
			if t, err := http.ParseTime(d); err == nil {
				return t.Format("2006.01")
			}
		}
	}
	return ""
}

// mismatch is one replayed exchange that differs.
type mismatch struct {
	file, route string
	reason      string
}

type fidelityResult struct {
	inScope, matched, outOfScope int
	mismatches                   []mismatch
}

func TestFidelityAgainstRecordedOktaExchanges(t *testing.T) {
	dir := cassettesDir
	if other := os.Getenv("FIDELITY_CASSETTES"); other != "" {
		dir = other // another tree of go-vcr cassettes, such as the provider's whole fixture set
	}
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".yaml") {
			files = append(files, path)
		}
		return err
	})
	if err != nil || len(files) == 0 {
		t.Fatalf("no cassettes under %s (internal/okta/testdata/okta-api): %v", dir, err)
	}
	var total fidelityResult
	for _, f := range files {
		r := replay(t, dir, f)
		total.inScope += r.inScope
		total.matched += r.matched
		total.outOfScope += r.outOfScope
		total.mismatches = append(total.mismatches, r.mismatches...)
	}
	rate := float64(total.matched) / float64(total.inScope)
	report := fidelityReport(total, len(files))
	t.Log(report)
	if path := os.Getenv("FIDELITY_REPORT"); path != "" {
		if err := os.WriteFile(path, []byte(report), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if dir == cassettesDir && total.inScope < 950 {
		t.Errorf("only %d exchanges were in scope; the replay lost its reach", total.inScope)
	}
	if rate < minMatchRate {
		t.Errorf("match rate %.1f%% is below %.0f%%", 100*rate, 100*minMatchRate)
	}
}

func fidelityReport(r fidelityResult, files int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "fidelity: %d cassette files; %d exchanges in scope, %d matched (%.1f%%); %d out of scope\n",
		files, r.inScope, r.matched, 100*float64(r.matched)/float64(r.inScope), r.outOfScope)
	byReason := map[string]int{}
	for _, m := range r.mismatches {
		byReason[m.route+": "+m.reason]++
	}
	keys := make([]string, 0, len(byReason))
	for k := range byReason {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "  %3d× %s\n", byReason[k], k)
	}
	return b.String()
}

// replay runs one cassette against a fresh org.
func replay(t *testing.T, dir, file string) fidelityResult {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var c cassette
	if err := yaml.Unmarshal(data, &c); err != nil {
		if dir != cassettesDir {
			return fidelityResult{} // not a cassette
		}
		t.Fatalf("%s: %v", file, err)
	}
	srv, err := emulator.New(emulator.Config{APIToken: "t", Classic: strings.HasPrefix(filepath.Base(file), "classic"), KeyBits: 1024,
		Release:    c.release(),
		RateLimits: emulator.UnlimitedRateLimits()})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	srv.SetBaseURL(ts.URL)

	ids := map[string]string{}   // recorded ID or app name → the emulator's
	foreign := map[string]bool{} // recorded IDs of non-SAML apps and of users of a custom schema
	custom := map[string]bool{}  // user profile attributes the recording added to the schema
	rel, _ := filepath.Rel(dir, file)
	var res fidelityResult
	for _, in := range c.Interactions {
		path, query := splitURL(in.Request.URL)
		if usesCustomAttributes(in.Request.Method, path, in.Request.Body, custom) || createsUnemulatedKind(in.Request.Method, path, in.Request.Body) {
			foreign[recordedID(in.Response.Body)] = true
			res.outOfScope++
			continue
		}
		learnCustomAttributes(in.Request.Method, path, in.Request.Body, custom)
		path = substitute(path, ids)
		route, ok := routeOf(srv, in.Request.Method, path)
		if !ok || listsUnemulatedPolicies(path, query) || touchesForeign(in.Request.URL+in.Response.Body, foreign) || namesPriorState(in.Request.Method, path, in.Request.URL, in.Response.Body, ids) {
			res.outOfScope++
			continue
		}
		res.inScope++
		req, _ := http.NewRequest(in.Request.Method, ts.URL+path+substituteQuery(query, ids), strings.NewReader(substitute(in.Request.Body, ids)))
		req.Header.Set("Authorization", "SSWS t")
		if in.Request.Body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if os.Getenv("FIDELITY_DEBUG") != "" && (resp.StatusCode != in.Response.Code || strings.Contains(in.Request.URL, os.Getenv("FIDELITY_DEBUG"))) {
			t.Logf("%s %s %s -> %d: %s", rel, in.Request.Method, path, resp.StatusCode, body)
		}
		if resp.StatusCode != in.Response.Code {
			res.mismatches = append(res.mismatches, mismatch{rel, route, fmt.Sprintf("status %d, recorded %d", resp.StatusCode, in.Response.Code)})
			continue
		}
		learnIDs(in.Response.Body, string(body), ids)
		diffs := compareBodies(in.Response.Body, string(body), ids)
		if len(diffs) > 0 {
			res.mismatches = append(res.mismatches, mismatch{rel, route, "shape: " + strings.Join(firstN(diffs, 3), ", ")})
		} else {
			res.matched++
		}
	}
	return res
}

// createsUnemulatedKind tells whether a request creates something of a
// kind the emulator chose not to emulate: a policy other than an app
// sign-on policy, an identity provider other than SAML 2.0. It, and
// everything touching it, is out of scope.
func createsUnemulatedKind(method, path, body string) bool {
	if method != http.MethodPost || path != "/api/v1/policies" && path != "/api/v1/idps" {
		return false
	}
	var obj struct {
		Type string `json:"type"`
	}
	if json.Unmarshal([]byte(body), &obj) != nil {
		return false
	}
	return path == "/api/v1/policies" && obj.Type != "ACCESS_POLICY" || path == "/api/v1/idps" && obj.Type != "SAML2"
}

// listsUnemulatedPolicies tells a listing of policies of another type.
func listsUnemulatedPolicies(path, query string) bool {
	return path == "/api/v1/policies" && !strings.Contains(query, "type=ACCESS_POLICY")
}

// learnCustomAttributes notes the attributes a recording added to the user
// schema (an endpoint the emulator does not serve).
func learnCustomAttributes(method, path, body string, custom map[string]bool) {
	if method != http.MethodPost || !strings.HasPrefix(path, "/api/v1/meta/schemas/user/") {
		return
	}
	var schema struct {
		Definitions struct {
			Custom struct {
				Properties map[string]any `json:"properties"`
			} `json:"custom"`
		} `json:"definitions"`
	}
	if json.Unmarshal([]byte(body), &schema) == nil {
		for k := range schema.Definitions.Custom.Properties {
			custom[k] = true
		}
	}
}

// usesCustomAttributes tells whether a user is created with attributes of
// a custom schema; such users are out of scope with the schema.
func usesCustomAttributes(method, path, body string, custom map[string]bool) bool {
	if method != http.MethodPost || path != "/api/v1/users" {
		return false
	}
	var u struct {
		Profile map[string]any `json:"profile"`
	}
	_ = json.Unmarshal([]byte(body), &u)
	for k := range u.Profile {
		if custom[k] {
			return true
		}
	}
	return false
}

func recordedID(body string) string {
	var obj struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal([]byte(body), &obj)
	return obj.ID
}

var oktaID = regexp.MustCompile(`\b(?:00u|00g|0oa)[A-Za-z0-9]{17}\b`)

// namesPriorState tells whether an exchange names users, groups or apps the
// recording never created: they were in the recorded org before the test
// (pre-existing users in a search, the org's built-in groups), which no
// replay can know. A create's answer names its new object and is exempt.
func namesPriorState(method, path, url, body string, ids map[string]string) bool {
	text := url
	if !(method == http.MethodPost && (path == "/api/v1/users" || path == "/api/v1/groups" || path == "/api/v1/apps" || path == "/api/v1/idps")) {
		text += body
	}
	for _, id := range oktaID.FindAllString(text, -1) {
		if _, known := ids[id]; !known {
			return true
		}
	}
	return false
}

// touchesForeign tells whether a request or its recorded answer names an
// out-of-scope object.
func touchesForeign(exchange string, foreign map[string]bool) bool {
	for id := range foreign {
		if id != "" && strings.Contains(exchange, id) {
			return true
		}
	}
	return false
}

func firstN(s []string, n int) []string {
	sort.Strings(s)
	if len(s) > n {
		return append(s[:n:n], fmt.Sprintf("+%d more", len(s)-n))
	}
	return s
}

func splitURL(u string) (string, string) {
	rest := u[strings.Index(u, "://")+3:]
	rest = rest[strings.Index(rest, "/"):]
	path, query, _ := strings.Cut(rest, "?")
	return path, query
}

func substituteQuery(q string, ids map[string]string) string {
	if q == "" {
		return ""
	}
	return "?" + substitute(q, ids)
}

// substitute replaces recorded IDs with the emulator's, longest first so
// that no ID is replaced inside another.
func substitute(s string, ids map[string]string) string {
	keys := make([]string, 0, len(ids))
	for k := range ids {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return len(keys[i]) > len(keys[j]) })
	for _, k := range keys {
		s = strings.ReplaceAll(s, k, ids[k])
	}
	return s
}

// routeOf tells which emulator route serves a request, if any.
func routeOf(srv *emulator.Server, method, path string) (string, bool) {
	mux, ok := srv.Handler().(*http.ServeMux)
	if !ok {
		return "", false
	}
	req := httptest.NewRequest(method, path, nil)
	_, pattern := mux.Handler(req)
	if pattern == "" || pattern == "/" || strings.Contains(pattern, "/emulator/") {
		return "", false
	}
	return pattern, true
}

// learnIDs walks the recorded and the emulator's answers side by side and
// maps every recorded id or kid to the emulator's.
func learnIDs(recorded, got string, ids map[string]string) {
	var r, g any
	if json.Unmarshal([]byte(recorded), &r) != nil || json.Unmarshal([]byte(got), &g) != nil {
		return
	}
	var walk func(r, g any)
	walk = func(r, g any) {
		switch rv := r.(type) {
		case map[string]any:
			gv, ok := g.(map[string]any)
			if !ok {
				return
			}
			_, isApp := rv["signOnMode"]
			for k, v := range rv {
				if s, isStr := v.(string); isStr && (k == "id" || k == "kid" || isApp && k == "name") {
					if gs, ok := gv[k].(string); ok && s != "" && gs != "" {
						ids[s] = gs
					}
					continue
				}
				walk(v, gv[k])
			}
		case []any:
			gv, ok := g.([]any)
			if !ok {
				return
			}
			for i := range min(len(rv), len(gv)) {
				walk(rv[i], gv[i])
			}
		}
	}
	walk(r, g)
}

// compareBodies compares JSON structure, or XML element paths. Keys made of
// recorded IDs or names (such as an app's link name) are translated first.
func compareBodies(recorded, got string, ids map[string]string) []string {
	recorded, got = strings.TrimSpace(recorded), strings.TrimSpace(got)
	if strings.HasPrefix(recorded, "<") {
		rp, gp := xmlPaths(recorded), xmlPaths(got)
		if rp != gp {
			return []string{"XML elements differ: recorded " + rp + "; got " + gp}
		}
		return nil
	}
	if recorded == "" {
		if got != "" {
			return []string{"recorded an empty body"}
		}
		return nil
	}
	var r, g any
	if err := json.Unmarshal([]byte(recorded), &r); err != nil {
		return nil // not JSON in the recording: status is all there is to compare
	}
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		return []string{"answer is not JSON"}
	}
	var diffs []string
	compareShape("$", translateKeys(r, ids), g, &diffs)
	return diffs
}

func translateKeys(v any, ids map[string]string) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[substitute(k, ids)] = translateKeys(e, ids)
		}
		return out
	case []any:
		for i := range t {
			t[i] = translateKeys(t[i], ids)
		}
	}
	return v
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	}
	return fmt.Sprintf("%T", v)
}

// compareShape records where the answer's keys or value types differ from
// the recording's. Arrays of equal length are compared item by item,
// otherwise by their first items.
func compareShape(path string, r, g any, diffs *[]string) {
	if typeName(r) != typeName(g) {
		*diffs = append(*diffs, fmt.Sprintf("%s is %s, recorded %s", path, typeName(g), typeName(r)))
		return
	}
	switch rv := r.(type) {
	case map[string]any:
		gv := g.(map[string]any)
		for k, v := range rv {
			gk, ok := gv[k]
			if !ok {
				*diffs = append(*diffs, path+"."+k+" missing")
				continue
			}
			compareShape(path+"."+k, v, gk, diffs)
		}
		for k := range gv {
			if _, ok := rv[k]; !ok {
				*diffs = append(*diffs, path+"."+k+" extra")
			}
		}
	case []any:
		gv := g.([]any)
		switch {
		case len(rv) == len(gv):
			for i := range rv {
				compareShape(fmt.Sprintf("%s[%d]", path, i), rv[i], gv[i], diffs)
			}
		case len(rv) > 0 && len(gv) > 0:
			compareShape(path+"[0]", rv[0], gv[0], diffs)
		default:
			*diffs = append(*diffs, fmt.Sprintf("%s has %d items, recorded %d", path, len(gv), len(rv)))
		}
	}
}

// xmlPaths lists an XML document's element paths in order.
func xmlPaths(doc string) string {
	dec := xml.NewDecoder(bytes.NewReader([]byte(doc)))
	var stack, paths []string
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		switch t := tok.(type) {
		case xml.StartElement:
			stack = append(stack, t.Name.Local)
			paths = append(paths, strings.Join(stack, "/"))
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		}
	}
	return strings.Join(paths, " ")
}
