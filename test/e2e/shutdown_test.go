package e2e

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"
	"github.com/onsi/gomega/gexec"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// The manager must exit within its graceful-shutdown timeout whatever state
// it is in when SIGTERM comes, and say why when it could not start: a pod
// stuck terminating at full CPU is what a platform team would otherwise see.
var _ = Describe("SIGTERM at any moment of start-up", func() {
	const shutdownTimeout = 5 * time.Second
	// exitWithin leaves a margin over the timeout for process start and exit
	// on a loaded machine; a spinning manager never exits at all.
	const exitWithin = shutdownTimeout + 5*time.Second

	writeKubeconfig := func(name string, data []byte) string {
		path := filepath.Join(GinkgoT().TempDir(), name)
		Expect(os.WriteFile(path, data, 0o600)).To(Succeed())
		return path
	}
	run := func(kubeconfig string) *gexec.Session {
		session := startManagerWith(kubeconfig, "--metrics-bind-address", "0", "--health-probe-bind-address", freeAddr(),
			"--graceful-shutdown-timeout", shutdownTimeout.String(), "--log-format", "json")
		DeferCleanup(func() { session.Kill().Wait("10s") })
		return session
	}
	terminate := func(session *gexec.Session) {
		session.Signal(syscall.SIGTERM)
		Eventually(session, exitWithin).Should(gexec.Exit())
	}

	It("with no API server at all: exits at once, naming the address it could not reach", func() {
		session := run(writeKubeconfig("none", kubeconfigFor("https://"+freeAddr())))
		Eventually(session, exitWithin).Should(gexec.Exit(1))
		Expect(session.Err).To(gbytes.Say(`connection refused`))
	})

	It("with the API server up but the CRDs missing: exits at once, naming the API group it cannot find", func() {
		bare := &envtest.Environment{} // no CRDs installed
		_, err := bare.Start()
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(bare.Stop)
		admin, err := bare.AddUser(envtest.User{Name: "admin", Groups: []string{"system:masters"}}, nil)
		Expect(err).NotTo(HaveOccurred())
		kubeconfig, err := admin.KubeConfig()
		Expect(err).NotTo(HaveOccurred())
		session := run(writeKubeconfig("no-crds", kubeconfig))
		Eventually(session, exitWithin).Should(gexec.Exit(1))
		Expect(session.Err).To(gbytes.Say(`no matches for sso\.oktaop\.io/v1alpha1`))
	})

	It("with RBAC that forbids listing the operator's kinds: stops at once and says the list was forbidden", func() {
		user, err := testEnv.AddUser(envtest.User{Name: "too-little-rbac"}, nil)
		Expect(err).NotTo(HaveOccurred())
		kubeconfig, err := user.KubeConfig()
		Expect(err).NotTo(HaveOccurred())
		session := run(writeKubeconfig("forbidden", kubeconfig))
		Eventually(session.Err, "30s").Should(gbytes.Say(`forbidden`))
		start := time.Now()
		terminate(session)
		Expect(session.ExitCode()).To(Equal(0))
		Expect(session.Err).To(gbytes.Say(`"msg":"Stopped before the caches synced".*"reason":"[^"]*forbidden`))
		AddReportEntry("shutdown with forbidden lists", time.Since(start).Round(10*time.Millisecond).String())
	})

	It("while the caches sync: exits in time", func() {
		session := run(kubeconfigPath)
		Eventually(session.Err, "30s").Should(gbytes.Say(`"msg":"Starting manager"`))
		terminate(session)
		Expect(session.ExitCode()).To(Equal(0))
		Expect(session.Err).To(gbytes.Say(`Stopped manager`))
	})

	It("while running: stops its controllers and exits in time", func(ctx context.Context) {
		probes := freeAddr()
		session := startManagerWith(kubeconfigPath, "--metrics-bind-address", "0", "--health-probe-bind-address", probes,
			"--graceful-shutdown-timeout", shutdownTimeout.String())
		DeferCleanup(func() { session.Kill().Wait("10s") })
		Eventually(statusOf("http://"+probes+"/readyz"), "30s").Should(Equal(200))
		Eventually(session.Err, "30s").Should(gbytes.Say(`Starting workers`))
		start := time.Now()
		terminate(session)
		Expect(session.ExitCode()).To(Equal(0))
		Expect(session.Err).To(gbytes.Say(`Stopped manager`))
		AddReportEntry("shutdown while running", time.Since(start).Round(10*time.Millisecond).String())
	})
})

// kubeconfigFor is a kubeconfig for a server nobody answers at.
func kubeconfigFor(server string) []byte {
	return []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "` + server + `", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: not-a-real-token}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`)
}
