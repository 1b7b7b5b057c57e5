package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"syscall"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"
	"github.com/onsi/gomega/gexec"
	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/oktaop/okta-sso-operator/test/harness"
)

// freeAddr returns a loopback address with a port nobody listens on.
func freeAddr() string { return harness.FreeAddr() }

// startManager runs the built manager against the test API server.
func startManager(args ...string) *gexec.Session {
	return startManagerWith(kubeconfigPath, args...)
}

// startManagerWith runs the built manager with the given kubeconfig.
func startManagerWith(kubeconfig string, args ...string) *gexec.Session {
	// Every local org and SCIM target of the suites listens on loopback.
	cmd := exec.Command(managerBin, append([]string{"--kubeconfig", kubeconfig, "--allow-loopback-targets"}, args...)...)
	session, err := gexec.Start(cmd, GinkgoWriter, GinkgoWriter)
	Expect(err).NotTo(HaveOccurred())
	return session
}

// get returns the status code and body of a GET, or an error.
func get(url string) (int, string, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

func statusOf(url string) func() (int, error) {
	return func() (int, error) {
		code, _, err := get(url)
		return code, err
	}
}

var _ = Describe("The manager binary", func() {
	It("serves probes and metrics, logs JSON, and stops cleanly on SIGTERM", func() {
		metrics, probes := freeAddr(), freeAddr()
		session := startManager("--metrics-bind-address", metrics, "--health-probe-bind-address", probes)

		Eventually(statusOf("http://"+probes+"/readyz"), "30s").Should(Equal(http.StatusOK))
		Expect(statusOf("http://" + probes + "/healthz")()).To(Equal(http.StatusOK))
		code, body, err := get("http://" + metrics + "/metrics")
		Expect(err).NotTo(HaveOccurred())
		Expect(code).To(Equal(http.StatusOK))
		Expect(body).To(ContainSubstring("go_goroutines"))
		Expect(body).To(ContainSubstring("controller_runtime_"))
		Expect(session.Err).To(gbytes.Say(`\{"level":"info".*"msg":"Starting manager"`))

		session.Signal(syscall.SIGTERM)
		Eventually(session, "15s").Should(gexec.Exit(0))
		Expect(session.Err).To(gbytes.Say(`Stopped manager`))
	})

	It("watches only the namespaces it is told to", func() {
		probes := freeAddr()
		session := startManager("--metrics-bind-address", "0", "--health-probe-bind-address", probes,
			"--watch-namespaces", "team-a, team-b")
		Eventually(statusOf("http://"+probes+"/readyz"), "30s").Should(Equal(http.StatusOK))
		Expect(session.Err).To(gbytes.Say(`"watchNamespaces":"team-a, team-b"`))
		session.Terminate()
		Eventually(session, "15s").Should(gexec.Exit(0))
	})

	It("holds a leader election Lease when asked to", func(ctx context.Context) {
		session := startManager("--metrics-bind-address", "0", "--health-probe-bind-address", freeAddr(),
			"--leader-elect", "--leader-election-namespace", "default")
		lease := &coordinationv1.Lease{}
		key := client.ObjectKey{Namespace: "default", Name: "okta-sso-operator.sso.oktaop.io"}
		Eventually(func(g Gomega) {
			g.Expect(k8s.Get(ctx, key, lease)).To(Succeed())
			g.Expect(lease.Spec.HolderIdentity).NotTo(BeNil())
			g.Expect(*lease.Spec.HolderIdentity).NotTo(BeEmpty())
		}, "30s").Should(Succeed())

		// Released on a clean shutdown, so a new replica takes over at once.
		session.Terminate()
		Eventually(session, "15s").Should(gexec.Exit(0))
		Expect(k8s.Get(ctx, key, lease)).To(Succeed())
		Expect(lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity == "").To(BeTrue(), "lease released")
	})

	DescribeTable("refuses a bad flag with a message that names it",
		func(flag, value string) {
			session := startManager(flag, value)
			Eventually(session, "15s").Should(gexec.Exit(1))
			Expect(session.Err).To(gbytes.Say(flag))
		},
		Entry("log format", "--log-format", "xml"),
		Entry("log level", "--log-level", "chatty"),
		Entry("app concurrency", "--app-concurrency", "0"),
		Entry("app workers", "--app-workers", "300"),
		Entry("namespace concurrency", "--namespace-concurrency", "0"),
		Entry("AccountSync workers", "--accountsync-workers", "257"),
		Entry("cluster ranges", "--cluster-cidrs", "10.0.0.1"),
	)
})

var _ = Describe("kubectl apply -k config/default", func() {
	It("installs the CRDs, RBAC and the Deployment", func(ctx context.Context) {
		kubectl := os.Getenv("KUBECTL")
		if kubectl == "" {
			kubectl = "kubectl"
		}
		path, err := exec.LookPath(kubectl)
		Expect(err).NotTo(HaveOccurred(), "kubectl is needed; make test sets KUBECTL")

		cmd := exec.CommandContext(ctx, path, "--kubeconfig", kubeconfigPath, "apply", "-k", repoRoot+"/config/default")
		out, err := cmd.CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), string(out))

		ns := "okta-sso-operator-system"
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "okta-sso-operator-controller-manager"}, &appsv1.Deployment{})).To(Succeed())
		role := &rbacv1.ClusterRole{}
		Expect(k8s.Get(ctx, client.ObjectKey{Name: "okta-sso-operator-manager-role"}, role)).To(Succeed())
		Expect(role.Rules).NotTo(BeEmpty())
		for _, name := range []string{"oktasamlapps", "ssobindings", "accountsyncs"} {
			crd := &apiextensionsv1.CustomResourceDefinition{}
			Expect(k8s.Get(ctx, client.ObjectKey{Name: fmt.Sprintf("%s.sso.oktaop.io", name)}, crd)).To(Succeed())
		}
	})
})
