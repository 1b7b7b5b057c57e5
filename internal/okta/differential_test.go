package okta_test

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/oktaop/okta-sso-operator/internal/okta"
	"github.com/oktaop/okta-sso-operator/pkg/emulator"
)

// The differential test runs one scripted scenario through the client twice:
// against the emulator, and against a replay server that answers from the
// recorded exchanges with real Okta orgs. What the operator would conclude
// at each step (the summaries below, not IDs or timestamps) must be the same.
// Key generation is not in it: no recording has one (the OpenAPI check
// covers it).

// recorded is one recorded answer, with the shape of the last change made
// to the same object before it in its recording.
type recorded struct {
	status int
	body   string
	header http.Header
}

// replayServer answers each request with a recorded answer of its shape
// (method and path with IDs as {id}), preferring one recorded after the same
// last change to the object the scenario made, so a read after a
// deactivation answers as recorded after one.
type replayServer struct {
	byShape      map[string][]recorded
	byShapeAfter map[string][]recorded
	lastChange   map[string]string // object ID → shape of the scenario's last change to it
}

var (
	objectID = regexp.MustCompile(`/(?:0oa|00g|00u|rst)[A-Za-z0-9]{17}`)
	keyID    = regexp.MustCompile(`/credentials/keys/[A-Za-z0-9_-]{20,}`)
)

// shapeOf is a request's method and path with its IDs blanked, and the ID
// of the object it is about (the first in its path).
func shapeOf(method, path string) (shape, object string) {
	path, _, _ = strings.Cut(path, "?")
	object = strings.TrimPrefix(objectID.FindString(path), "/")
	path = keyID.ReplaceAllString(objectID.ReplaceAllString(path, "/{id}"), "/credentials/keys/{kid}")
	return method + " " + path, object
}

func newReplayServer(t *testing.T, dirs ...string) *replayServer {
	t.Helper()
	rs := &replayServer{byShape: map[string][]recorded{}, byShapeAfter: map[string][]recorded{}, lastChange: map[string]string{}}
	for _, dir := range dirs {
		// One org's recordings, an Identity Engine one, as the emulator
		// answers by default.
		files, _ := filepath.Glob(filepath.Join(dir, "*", "oie-00.yaml"))
		if len(files) == 0 {
			t.Fatalf("no cassettes under %s", dir)
		}
		for _, f := range files {
			rs.learn(t, f)
		}
	}
	return rs
}

func (rs *replayServer) learn(t *testing.T, file string) {
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Interactions []struct {
			Request struct {
				Method, URL, Body string
			}
			Response struct {
				Code    int
				Body    string
				Headers map[string][]string
			}
		}
	}
	if err := yaml.Unmarshal(data, &c); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	last := map[string]string{}
	for _, in := range c.Interactions {
		at := strings.Index(in.Request.URL, "/api/")
		if at < 0 || !recordsSAMLOrOther(in.Request.URL[at:], in.Request.Body, in.Response.Body) {
			continue
		}
		shape, object := shapeOf(in.Request.Method, in.Request.URL[at:])
		answer := recorded{status: in.Response.Code, body: in.Response.Body, header: in.Response.Headers}
		rs.byShape[shape] = append(rs.byShape[shape], answer)
		rs.byShapeAfter[shape+" after "+last[object]] = append(rs.byShapeAfter[shape+" after "+last[object]], answer)
		if in.Request.Method != http.MethodGet && object != "" {
			last[object] = shape
		}
	}
}

// recordsSAMLOrOther keeps app exchanges of SAML apps only: the scenario's
// app is one.
func recordsSAMLOrOther(path, reqBody, respBody string) bool {
	if !strings.HasPrefix(path, "/api/v1/apps") {
		return true
	}
	if strings.HasPrefix(path, "/api/v1/apps?") || path == "/api/v1/apps" {
		return strings.Contains(reqBody+respBody, `"signOnMode":"SAML_2_0"`)
	}
	return !strings.Contains(respBody, `"signOnMode"`) || strings.Contains(respBody, `"signOnMode":"SAML_2_0"`)
}

func (rs *replayServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	shape, object := shapeOf(r.Method, r.URL.RequestURI())
	answers := rs.byShapeAfter[shape+" after "+rs.lastChange[object]]
	if len(answers) == 0 {
		answers = rs.byShape[shape]
	}
	if r.Method != http.MethodGet && object != "" {
		rs.lastChange[object] = shape
	}
	if len(answers) == 0 {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotImplemented)
		fmt.Fprintf(w, `{"errorCode":"E0000000","errorSummary":"no recording of %s","errorCauses":[]}`, shape)
		return
	}
	a := successFirst(answers)
	for _, v := range a.header["Content-Type"] {
		w.Header().Add("Content-Type", v)
	}
	w.WriteHeader(a.status)
	_, _ = io.WriteString(w, asAskedFor(r.URL.Path, a.body))
}

// groupName is the name of the first group a recorded group search found,
// so that the scenario looks for a group the recordings have.
func (rs *replayServer) groupName(t *testing.T) string {
	t.Helper()
	var groups []struct {
		Profile struct {
			Name string `json:"name"`
		} `json:"profile"`
	}
	if err := json.Unmarshal([]byte(successFirst(rs.byShape["GET /api/v1/groups"]).body), &groups); err != nil || len(groups) == 0 {
		t.Fatalf("no recorded group search: %v", err)
	}
	return groups[0].Profile.Name
}

// successFirst is the first successful answer, else the first answer.
func successFirst(answers []recorded) recorded {
	for _, a := range answers {
		if a.status < 300 {
			return a
		}
	}
	return answers[0]
}

// scenario is what the operator does with an app and its users, each step
// summarised as the operator would read it.
func scenario(ctx context.Context, t *testing.T, c *okta.Client, base, groupName string) []string {
	t.Helper()
	var out []string
	step := func(name string, summary string, err error) {
		if err != nil {
			summary = "error: " + err.Error()
		}
		out = append(out, name+": "+summary)
	}

	app, err := c.CreateApp(ctx, samlApp("Differential"), true)
	step("create a SAML app", fmt.Sprintf("status %s, mode %s, signing key named %t, an app link %t",
		app.Status, app.SignOnMode, app.Credentials.Signing != nil && app.Credentials.Signing.Kid != "", len(app.Links.AppLinks) > 0), err)
	if err != nil {
		return out
	}
	read, err := c.GetApp(ctx, app.ID)
	step("read it", fmt.Sprintf("audience kept %t, sign-on policy linked %t", read.Settings.SignOn != nil && read.Settings.SignOn.Audience != "",
		read.AccessPolicyID() != ""), err)

	keys, err := c.ListAppKeys(ctx, app.ID)
	activeListed := false
	for _, k := range keys {
		activeListed = activeListed || k.Kid == read.Credentials.Signing.Kid && len(k.X5c) == 1 && !k.ExpiresAt.IsZero()
	}
	step("list its signing keys", fmt.Sprintf("the active key listed with its certificate and expiry %t", activeListed), err)

	metadata, err := c.GetSAMLMetadata(ctx, app.ID, "")
	var md struct {
		XMLName xml.Name `xml:"EntityDescriptor"`
		IDP     struct {
			Certs []string `xml:"KeyDescriptor>KeyInfo>X509Data>X509Certificate"`
			SSO   []struct {
				Binding string `xml:"Binding,attr"`
			} `xml:"SingleSignOnService"`
		} `xml:"IDPSSODescriptor"`
	}
	parseErr := xml.Unmarshal(metadata, &md)
	step("read its IdP metadata", fmt.Sprintf("parses %t, one certificate %t, %d SSO bindings", parseErr == nil, len(md.IDP.Certs) == 1, len(md.IDP.SSO)), err)

	updated, err := c.UpdateApp(ctx, read)
	step("put it back with its active key (a rotation's promotion)", fmt.Sprintf("still signing with a key %t",
		updated.Credentials.Signing != nil && updated.Credentials.Signing.Kid != ""), err)

	group, err := c.FindGroupByName(ctx, groupName)
	if err == nil && group == nil {
		err = fmt.Errorf("no group")
	}
	step("find a group", "found", err)
	if err != nil {
		return out
	}
	assigned, err := c.AssignGroup(ctx, app.ID, group.ID, okta.AppGroupAssignment{})
	step("assign it to the app", fmt.Sprintf("priority answered %t", err == nil && assigned.Priority != nil), err)
	groups, err := c.ListAppGroups(ctx, app.ID)
	step("list the app's groups", fmt.Sprintf("some %t", len(groups) > 0), err)

	users, err := c.ListGroupMembers(ctx, group.ID)
	if err == nil && len(users) == 0 {
		err = fmt.Errorf("no member")
	}
	step("list the group's members", "some", err)
	if err == nil {
		deactivate(t, base, users[0].ID)
		left, err := c.GetUser(ctx, users[0].ID)
		step("deactivate a member, then read them", fmt.Sprintf("status %s, has left %t", left.Status, okta.UserLeft(left.Status)), err)
	}
	return out
}

// deactivate is what an Okta admin does; the operator's client has no call
// for it.
func deactivate(t *testing.T, base, userID string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/users/"+userID+"/lifecycle/deactivate", nil)
	req.Header.Set("Authorization", "SSWS "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("deactivating %s: %d", userID, resp.StatusCode)
	}
}

func TestEmulatorAndRecordedOktaAgreeOnAScenario(t *testing.T) {
	ctx := context.Background()
	recordings := newReplayServer(t, "testdata/okta-api/cassettes", "testdata/provider-fixtures")
	group := recordings.groupName(t)
	replay := httptest.NewServer(recordings)
	t.Cleanup(replay.Close)
	seed := &emulator.Seed{Users: []emulator.SeedUser{{Login: "ann@example.com", FirstName: "Ann", LastName: "Lee", Password: "Correct-Horse-9"}}}
	if group != "Everyone" { // every org has Everyone, with every user in it
		seed.Groups, seed.Users[0].Groups = []emulator.SeedGroup{{Name: group}}, []string{group}
	}
	org, err := emulator.Start(emulator.Config{APIToken: token, KeyBits: 1024, Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = org.Close() })

	results := map[string][]string{}
	for name, base := range map[string]string{"emulator": org.BaseURL(), "recordings": replay.URL} {
		c, err := okta.New(okta.Config{OrgURL: base, APIToken: token, Budget: okta.NewBudget(100, nil), MaxRetries: -1})
		if err != nil {
			t.Fatal(err)
		}
		results[name] = scenario(ctx, t, c, base, group)
	}
	t.Logf("the scenario as recorded Okta answered it:\n  %s", strings.Join(results["recordings"], "\n  "))
	if diff := cmp.Diff(results["recordings"], results["emulator"]); diff != "" {
		t.Errorf("the emulator and the recordings disagree (-recorded +emulator):\n%s", diff)
	}
	if len(results["emulator"]) < 10 {
		t.Errorf("the scenario stopped early: %q", results["emulator"])
	}
}
