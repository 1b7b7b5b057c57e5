// Package browser signs people in as they do: headless Chromium, driven
// from Go, typing into the local Okta org's pages and clicking through to
// the example SP, all run from the built binaries (manager, okta-emulator,
// saml-sp) on a real API server. BROWSER_SCREENSHOTS=<dir> saves a PNG of
// each page the flows show (make screenshots writes docs/images).
package browser

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/oktaop/okta-sso-operator/test/harness"
)

const (
	apiToken = "00BrowserTokenForTheLocalOrgs-5d1e"
	project  = "github.com/oktaop/okta-sso-operator/"
)

var (
	apiServer *harness.APIServer
	k8s       client.Client
	chromium  string
)

func TestBrowser(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Browser suite")
}

var _ = BeforeSuite(func() {
	chromium = findChromium()
	if chromium == "" {
		if os.Getenv("REQUIRE_CHROMIUM") != "" {
			Fail("no Chromium: hack/test-deps.sh installs Debian's chromium")
		}
		Skip("no Chromium (set CHROMIUM, or run hack/test-deps.sh)")
	}
	apiServer = harness.StartAPIServer(filepath.Join("..", ".."))
	k8s = apiServer.Client
})

var _ = AfterSuite(func() {
	if apiServer != nil {
		apiServer.Stop()
	}
})

// findChromium is $CHROMIUM, or Debian's chromium on the PATH.
func findChromium() string {
	if c := os.Getenv("CHROMIUM"); c != "" {
		return c
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// startOrg runs a local Okta org with the seed (and any further flags)
// and returns its URL.
func startOrg(dir, name, seed string, flags ...string) string {
	path := filepath.Join(dir, name+"-seed.yaml")
	Expect(os.WriteFile(path, []byte(seed), 0o600)).To(Succeed())
	org := harness.StartBinary(project+"cmd/okta-emulator", append([]string{"--api-token", apiToken, "--seed", path, "--org-name", name}, flags...)...)
	Eventually(org.Out, "30s").Should(gbytes.Say(`http://127\.0\.0\.1:\d+`))
	return regexp.MustCompile(`http://127\.0\.0\.1:\d+`).FindString(string(org.Out.Contents()))
}
