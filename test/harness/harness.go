// Package harness holds what the suites that run the built binaries share:
// a real API server with the CRDs, the project's binaries as processes, and
// waits on the objects they reconcile. It asserts with Gomega, so it is for
// Ginkgo suites only.
package harness

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
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gexec"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
)

// APIServer is envtest's kube-apiserver and etcd with the project's CRDs,
// a client for the tests, and a kubeconfig file for the manager.
type APIServer struct {
	Env        *envtest.Environment
	Client     client.Client
	Kubeconfig string
}

// StartAPIServer starts the API server with the CRDs under repoRoot and an
// admin user whose kubeconfig the built manager runs with.
func StartAPIServer(repoRoot string) *APIServer {
	env := &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join(repoRoot, "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
	}
	cfg, err := env.Start()
	Expect(err).NotTo(HaveOccurred())
	scheme := runtime.NewScheme()
	Expect(clientgoscheme.AddToScheme(scheme)).To(Succeed())
	Expect(ssov1.AddToScheme(scheme)).To(Succeed())
	Expect(apiextensionsv1.AddToScheme(scheme)).To(Succeed())
	k8s, err := client.New(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
	admin, err := env.AddUser(envtest.User{Name: "suite-admin", Groups: []string{"system:masters"}}, nil)
	Expect(err).NotTo(HaveOccurred())
	kubeconfig, err := admin.KubeConfig()
	Expect(err).NotTo(HaveOccurred())
	path := filepath.Join(GinkgoT().TempDir(), "kubeconfig")
	Expect(os.WriteFile(path, kubeconfig, 0o600)).To(Succeed())
	return &APIServer{Env: env, Client: k8s, Kubeconfig: path}
}

// Stop ends every process the suite started, then the API server.
func (a *APIServer) Stop() {
	gexec.KillAndWait()
	gexec.CleanupBuildArtifacts()
	if a != nil {
		Expect(a.Env.Stop()).To(Succeed())
	}
}

// StartBinary builds a main package and runs it until the spec ends.
func StartBinary(pkg string, args ...string) *gexec.Session {
	bin, err := gexec.Build(pkg)
	Expect(err).NotTo(HaveOccurred())
	session, err := gexec.Start(exec.Command(bin, args...), GinkgoWriter, GinkgoWriter)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() { session.Terminate().Wait("10s") })
	return session
}

// MountSecret writes a Secret's files into dir, as a Secret volume would,
// and returns the Secret.
func MountSecret(ctx context.Context, k8s client.Client, namespace, name, dir string) *corev1.Secret {
	secret := &corev1.Secret{}
	Expect(k8s.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, secret)).To(Succeed())
	Expect(os.MkdirAll(dir, 0o700)).To(Succeed())
	for k, v := range secret.Data {
		Expect(os.WriteFile(filepath.Join(dir, k), v, 0o600)).To(Succeed())
	}
	return secret
}

// ApplyAndWaitReady creates the objects, then waits until each is Ready.
func ApplyAndWaitReady(ctx context.Context, k8s client.Client, objects []client.Object) {
	for _, o := range objects {
		Expect(k8s.Create(ctx, o)).To(Succeed())
	}
	for _, o := range objects {
		Eventually(func(g Gomega) {
			got := o.DeepCopyObject().(interface {
				client.Object
				GetCommonStatus() *ssov1.CommonStatus
			})
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(o), got)).To(Succeed())
			conditions := got.GetCommonStatus().Conditions
			g.Expect(meta.IsStatusConditionTrue(conditions, ssov1.ReadyCondition)).To(BeTrue(), "%s: %v", o.GetName(), conditions)
		}, "90s").Should(Succeed())
	}
}

// FreeAddr returns a loopback address with a port nobody listens on.
func FreeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	defer l.Close()
	return l.Addr().String()
}

// SelfSignedCertificate writes a self-signed certificate for host and its
// key into dir as tls.crt and tls.key, as a CI job's openssl step would,
// and returns the certificate (PEM) for clients to trust.
func SelfSignedCertificate(dir, host string) []byte {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	Expect(err).NotTo(HaveOccurred())
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: host}, DNSNames: []string{host},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	Expect(err).NotTo(HaveOccurred())
	keyDER, err := x509.MarshalECPrivateKey(key)
	Expect(err).NotTo(HaveOccurred())
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	Expect(os.WriteFile(filepath.Join(dir, "tls.crt"), certPEM, 0o600)).To(Succeed())
	Expect(os.WriteFile(filepath.Join(dir, "tls.key"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600)).To(Succeed())
	return certPEM
}
