// Package browser signs people in as they do: headless Chromium, driven
// from Go, typing into the local Okta org's pages and clicking through to
// the example SP, all run from the built binaries (manager, okta-emulator,
// saml-sp) on a real API server. BROWSER_SCREENSHOTS=<dir> saves a PNG of
// each page the flows show (make screenshots writes docs/images).
package browser

import (
	"context"
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
	"github.com/onsi/gomega/gexec"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
)

const apiToken = "00BrowserTokenForTheLocalOrgs-5d1e"

var (
	testEnv        *envtest.Environment
	k8s            client.Client
	kubeconfigPath string
	chromium       string
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
	testEnv = &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join("..", "..", "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
	}
	cfg, err := testEnv.Start()
	Expect(err).NotTo(HaveOccurred())
	scheme := runtime.NewScheme()
	Expect(clientgoscheme.AddToScheme(scheme)).To(Succeed())
	Expect(ssov1.AddToScheme(scheme)).To(Succeed())
	k8s, err = client.New(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
	admin, err := testEnv.AddUser(envtest.User{Name: "browser-admin", Groups: []string{"system:masters"}}, nil)
	Expect(err).NotTo(HaveOccurred())
	kubeconfig, err := admin.KubeConfig()
	Expect(err).NotTo(HaveOccurred())
	kubeconfigPath = filepath.Join(GinkgoT().TempDir(), "kubeconfig")
	Expect(os.WriteFile(kubeconfigPath, kubeconfig, 0o600)).To(Succeed())
})

var _ = AfterSuite(func() {
	gexec.KillAndWait()
	gexec.CleanupBuildArtifacts()
	if testEnv != nil {
		Expect(testEnv.Stop()).To(Succeed())
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

// startBinary builds a main package of the project and runs it.
func startBinary(pkg string, args ...string) *gexec.Session {
	bin, err := gexec.Build("github.com/oktaop/okta-sso-operator/" + pkg)
	Expect(err).NotTo(HaveOccurred())
	session, err := gexec.Start(exec.Command(bin, args...), GinkgoWriter, GinkgoWriter)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() { session.Terminate().Wait("10s") })
	return session
}

// startOrg runs a local Okta org with the seed (and any further flags)
// and returns its URL.
func startOrg(dir, name, seed string, flags ...string) string {
	path := filepath.Join(dir, name+"-seed.yaml")
	Expect(os.WriteFile(path, []byte(seed), 0o600)).To(Succeed())
	org := startBinary("cmd/okta-emulator", append([]string{"--api-token", apiToken, "--seed", path, "--org-name", name}, flags...)...)
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

// mountSecret writes a Secret's files into dir, as a Secret volume would.
func mountSecret(ctx context.Context, namespace, name, dir string) {
	secret := &corev1.Secret{}
	Expect(k8s.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, secret)).To(Succeed())
	Expect(os.MkdirAll(dir, 0o700)).To(Succeed())
	for k, v := range secret.Data {
		Expect(os.WriteFile(filepath.Join(dir, k), v, 0o600)).To(Succeed())
	}
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
