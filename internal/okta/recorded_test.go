package okta_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/yaml"

	"github.com/oktaop/okta-sso-operator/internal/okta"
	"github.com/oktaop/okta-sso-operator/pkg/emulator"
)

// recordedAnswers indexes the first recorded 200 answer of each request
// shape in internal/okta/testdata/okta-api/cassettes ("GET /api/v1/apps/{id}" ...).
func recordedAnswers(t *testing.T) map[string]string {
	t.Helper()
	files, _ := filepath.Glob("testdata/okta-api/cassettes/*/*.yaml")
	if len(files) == 0 {
		t.Fatal("no cassettes under testdata/okta-api/cassettes")
	}
	id := regexp.MustCompile(`/(0oa|00g|00u)[A-Za-z0-9]{17}`)
	kid := regexp.MustCompile(`/credentials/keys/[A-Za-z0-9_-]{20,}`)
	out := map[string]string{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var c struct {
			Interactions []struct {
				Request struct {
					Method, URL string
				}
				Response struct {
					Code int
					Body string
				}
			}
		}
		if err := yaml.Unmarshal(data, &c); err != nil {
			t.Fatal(err)
		}
		for _, in := range c.Interactions {
			at := strings.Index(in.Request.URL, "/api/")
			if in.Response.Code != http.StatusOK || at < 0 {
				continue
			}
			u := in.Request.URL[at:]
			u, _, _ = strings.Cut(u, "?")
			u = kid.ReplaceAllString(id.ReplaceAllString(u, "/{id}"), "/credentials/keys/{kid}")
			key := in.Request.Method + " " + u
			if strings.HasPrefix(u, "/api/v1/apps") && strings.Contains(in.Response.Body, `"signOnMode"`) &&
				!strings.Contains(in.Response.Body, `"signOnMode":"SAML_2_0"`) {
				continue // the operator reads SAML apps only
			}
			if _, seen := out[key]; !seen {
				out[key] = in.Response.Body
			}
		}
	}
	return out
}

// replayTransport answers each request with the recorded answer of its shape.
type replayTransport map[string]string

func (rt replayTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	id := regexp.MustCompile(`/(0oa|00g|00u)[A-Za-z0-9]{17}`)
	path := id.ReplaceAllString(r.URL.Path, "/{id}")
	path = regexp.MustCompile(`/credentials/keys/[^/]+$`).ReplaceAllString(path, "/credentials/keys/{kid}")
	body, ok := rt[r.Method+" "+path]
	status := http.StatusOK
	if !ok {
		status, body = http.StatusNotFound, `{"errorCode":"E0000007","errorSummary":"not recorded","errorCauses":[]}`
	}
	body = asAskedFor(r.URL.Path, body)
	return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(body)), Request: r}, nil
}

// TestParsesRecordedAnswers decodes real Okta answers with the client.
func TestParsesRecordedAnswers(t *testing.T) {
	ctx := context.Background()
	c, err := okta.New(okta.Config{OrgURL: "https://oie-00.dne-okta.com", APIToken: token,
		Transport: replayTransport(recordedAnswers(t)), Budget: okta.NewBudget(100, nil)})
	if err != nil {
		t.Fatal(err)
	}
	const app, user = "0oakwrj4p8zRhF0WU1d7", "00uuj8n0jhybX58zC1d7"
	tests := map[string]func() (string, error){
		"app": func() (string, error) {
			a, err := c.GetApp(ctx, app)
			return a.ID + a.Settings.SignOn.Audience + a.Credentials.Signing.Kid, err
		},
		"apps list": func() (string, error) {
			apps, err := c.ListApps(ctx, okta.AppQuery{Q: "testAcc"})
			if len(apps) == 0 {
				return "", err
			}
			return apps[0].ID + apps[0].Status, err
		},
		"signing keys": func() (string, error) {
			keys, err := c.ListAppKeys(ctx, app)
			if len(keys) == 0 {
				return "", err
			}
			return keys[0].Kid + keys[0].X5tS256 + keys[0].ExpiresAt.String(), err
		},
		"metadata": func() (string, error) {
			md, err := c.GetSAMLMetadata(ctx, app, "")
			return string(bytes.TrimPrefix(md, []byte("x"))), err
		},
		"app groups": func() (string, error) {
			gs, err := c.ListAppGroups(ctx, app)
			if len(gs) == 0 {
				return "", err
			}
			return gs[0].ID, err
		},
		"app user": func() (string, error) {
			u, err := c.GetAppUser(ctx, app, user)
			return u.ID + u.Scope + u.Credentials.UserName, err
		},
		"user": func() (string, error) {
			u, err := c.GetUser(ctx, user)
			return u.ID + u.Login(), err
		},
		"identity provider": func() (string, error) {
			p, err := c.GetIdentityProvider(ctx, "0oavraar3uzIOoiYU1d7")
			return p.ID() + p.Status(), err
		},
	}
	for name, call := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := call()
			if err != nil {
				t.Fatal(err)
			}
			if got == "" {
				t.Error("decoded nothing")
			}
		})
	}
}

// TestSecretsNeverWritten drives the client through every failure kind and
// checks that the API token appears in no error and no metric.
func TestSecretsNeverWritten(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, emulator.Config{Faults: emulator.Faults{Force5xx: 4, Force429: 1}}, okta.Config{})
	var texts []string
	collect := func(err error) {
		if err != nil {
			texts = append(texts, err.Error())
		}
	}
	_, err := e.client.ListApps(ctx, okta.AppQuery{}) // 429
	collect(err)
	_, err = e.client.GetApp(ctx, "0oa00000000000000000") // budget refusal or 5xx
	collect(err)
	_, err = e.client.CreateApp(ctx, &okta.App{Label: "x", SignOnMode: "SAML_2_0"}, true)
	collect(err)
	wrong, _ := okta.New(okta.Config{OrgURL: e.url, APIToken: token + "-revoked", Budget: okta.NewBudget(100, nil)})
	_, err = wrong.GetUser(ctx, "alice@example.com")
	collect(err)
	unreachable, _ := okta.New(okta.Config{OrgURL: "http://127.0.0.1:1", APIToken: token, Budget: okta.NewBudget(100, nil), MaxRetries: -1})
	_, err = unreachable.GetUser(ctx, "alice@example.com")
	collect(err)
	if len(texts) < 4 {
		t.Fatalf("only %d failures happened: %q", len(texts), texts)
	}

	families, err := ctrlmetrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var metrics bytes.Buffer
	for _, f := range families {
		if _, err := expfmt.MetricFamilyToText(&metrics, f); err != nil {
			t.Fatal(err)
		}
	}
	if !strings.Contains(metrics.String(), "okta_requests_total") {
		t.Fatal("the client recorded no metrics")
	}
	for _, text := range append(texts, metrics.String()) {
		if strings.Contains(text, token) || strings.Contains(text, "SSWS") {
			t.Errorf("a credential was written: %q", text)
		}
	}
}

var (
	firstID = regexp.MustCompile(`^\{"id":"([^"]+)"`)
	lastID  = regexp.MustCompile(`/((?:0oa|00g|00u)[A-Za-z0-9]{17})$`)
)

// asAskedFor makes a recorded answer about one object be about the object
// the request names, as Okta's would: the client refuses an answer about
// another object.
func asAskedFor(path, body string) string {
	asked := lastID.FindStringSubmatch(path)
	recorded := firstID.FindStringSubmatch(body)
	if asked == nil || recorded == nil {
		return body
	}
	return strings.ReplaceAll(body, recorded[1], asked[1])
}
