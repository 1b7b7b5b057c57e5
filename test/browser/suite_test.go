// Package browser signs people in as they do: headless Chromium, driven
// from Go, typing into the local Okta org's pages and clicking through to
// the example SP, all run from the built binaries (manager, okta-emulator,
// saml-sp) on a real API server. BROWSER_SCREENSHOTS=<dir> saves a PNG of
// each page the flows show (make screenshots writes docs/images).
package browser

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

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

// freePort returns a loopback port nobody listens on.
func freePort() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}

// serverCertificate writes a self-signed certificate and key for localhost
// into dir and returns their paths.
func serverCertificate(dir string) (certFile, keyFile string) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	Expect(err).NotTo(HaveOccurred())
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"}, DNSNames: []string{"localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	Expect(err).NotTo(HaveOccurred())
	keyDER, err := x509.MarshalECPrivateKey(key)
	Expect(err).NotTo(HaveOccurred())
	certFile, keyFile = filepath.Join(dir, "https.crt"), filepath.Join(dir, "https.key")
	Expect(os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)).To(Succeed())
	Expect(os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600)).To(Succeed())
	return certFile, keyFile
}
