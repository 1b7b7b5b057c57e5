// Package harness holds what the suites that run the built binaries share:
// a real API server with the CRDs, the project's binaries as processes, and
// waits on the objects they reconcile. It asserts with Gomega, so it is for
// Ginkgo suites only.
package harness

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"

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
