package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"
	"github.com/onsi/gomega/gexec"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
	"github.com/oktaop/okta-sso-operator/test/harness"
)

// examples/ci runs the local Okta org in a test cluster, from the
// operator's image. This API server has no kubelet, so the Deployment's
// container is run here as the kubelet would run it: its command and args,
// with the Secret's token for $(API_TOKEN) and the mounted files at paths of
// this machine; the org Secret then points the manager at it over TLS with
// the certificate as its caBundle, as docs/emulator.md's CI job does.
var _ = Describe("examples/ci, the local Okta org for users' CI", func() {
	It("is accepted by the API server, and its container serves an org the manager trusts", func(ctx context.Context) {
		kubectl := os.Getenv("KUBECTL")
		if kubectl == "" {
			kubectl = "kubectl"
		}
		rendered, err := exec.CommandContext(ctx, kubectl, "kustomize", repoRoot+"/examples/ci").CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), string(rendered))
		Expect(client.IgnoreAlreadyExists(k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "okta-emulator"}}))).To(Succeed())
		out, err := exec.CommandContext(ctx, kubectl, "--kubeconfig", kubeconfigPath, "apply", "-k", repoRoot+"/examples/ci", "--dry-run=server").CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), string(out))
		Expect(string(out)).To(ContainSubstring("deployment.apps/okta-emulator created (server dry run)"))

		By("the container, run as the kubelet would")
		dir := GinkgoT().TempDir()
		addr := freeAddr()
		certPEM := harness.SelfSignedCertificate(dir, "localhost")
		container := emulatorContainer(string(rendered))
		Expect(container.Command).To(Equal([]string{"/okta-emulator"}), "the image's emulator")
		args := kubeletArgs(container.Args, map[string]string{
			"$(API_TOKEN)": e2eToken,
			"0.0.0.0:8443": addr,
			"https://okta-emulator.okta-emulator.svc": "https://localhost:" + strings.Split(addr, ":")[1],
			"/etc/okta-emulator/seed/seed.yaml":       repoRoot + "/examples/ci/seed.yaml",
			"/etc/okta-emulator/tls/tls.crt":          filepath.Join(dir, "tls.crt"),
			"/etc/okta-emulator/tls/tls.key":          filepath.Join(dir, "tls.key"),
		})
		emulatorBin, err := gexec.Build("github.com/oktaop/okta-sso-operator/cmd/okta-emulator")
		Expect(err).NotTo(HaveOccurred())
		emu, err := gexec.Start(exec.Command(emulatorBin, args...), GinkgoWriter, GinkgoWriter)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func() { emu.Terminate().Wait("10s") })
		orgURL := "https://localhost:" + strings.Split(addr, ":")[1]
		Eventually(emu.Out, "30s").Should(gbytes.Say(orgURL))

		By("the platform's ClusterOktaOrg, trusting the org's certificate through its caBundle, its token in the operator's namespace")
		platform := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "e2e-ci-platform-"}}
		Expect(k8s.Create(ctx, platform)).To(Succeed())
		Expect(k8s.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: platform.Name, Name: "okta-admin"},
			StringData: map[string]string{"token": e2eToken}})).To(Succeed())
		company := &ssov1.ClusterOktaOrg{ObjectMeta: metav1.ObjectMeta{Name: "company"}, Spec: ssov1.ClusterOktaOrgSpec{OktaOrgSpec: ssov1.OktaOrgSpec{
			URL: ssov1.URL(orgURL), CABundle: string(certPEM),
			Credentials: ssov1.OrgCredentials{APIToken: &ssov1.SecretKeySelector{Name: "okta-admin", Key: "token"}}},
			Conditions: []ssov1.NamespaceCondition{{NamespaceRegexes: []string{"^e2e-ci-"}}}}}
		Expect(k8s.Create(ctx, company)).To(Succeed())
		manager := startManager("--metrics-bind-address", "0", "--health-probe-bind-address", freeAddr(), "--cluster-resource-namespace", platform.Name)
		DeferCleanup(func() { manager.Terminate().Wait("10s") })
		DeferCleanup(func() { // before the manager stops, so it releases the org's finalizer
			Expect(k8s.Delete(context.Background(), company)).To(Succeed())
			Eventually(func() error { return k8s.Get(context.Background(), client.ObjectKeyFromObject(company), company) }, "30s").ShouldNot(Succeed())
		})
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "e2e-ci-"}}
		Expect(k8s.Create(ctx, ns)).To(Succeed())
		Expect(k8s.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "vendor-sso-token"},
			StringData: map[string]string{"token": "ci-token"}})).To(Succeed())
		out, err = exec.CommandContext(ctx, kubectl, "--kubeconfig", kubeconfigPath, "apply", "-n", ns.Name, "-f", repoRoot+"/examples/sso/vendor-app.yaml").CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), string(out))

		Eventually(func(g Gomega) {
			app := &ssov1.OktaSAMLApp{}
			g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns.Name, Name: "vendor-app"}, app)).To(Succeed())
			g.Expect(meta.IsStatusConditionTrue(app.Status.Conditions, ssov1.ReadyCondition)).To(BeTrue(), "%v", app.Status.Conditions)
			bindings := &ssov1.SSOBindingList{}
			g.Expect(k8s.List(ctx, bindings, client.InNamespace(ns.Name))).To(Succeed())
			g.Expect(bindings.Items).NotTo(BeEmpty())
			for _, b := range bindings.Items {
				g.Expect(meta.IsStatusConditionTrue(b.Status.Conditions, ssov1.ReadyCondition)).To(BeTrue(), "%s: %v", b.Name, b.Status.Conditions)
			}
		}, "90s").Should(Succeed())

		By("the same manifests in a namespace the org's conditions do not allow: refused, nothing made in Okta")
		outside := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "e2e-outside-"}}
		Expect(k8s.Create(ctx, outside)).To(Succeed())
		out, err = exec.CommandContext(ctx, kubectl, "--kubeconfig", kubeconfigPath, "apply", "-n", outside.Name, "-f", repoRoot+"/examples/sso/vendor-app.yaml").CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), string(out))
		refused := &ssov1.OktaSAMLApp{ObjectMeta: metav1.ObjectMeta{Namespace: outside.Name, Name: "vendor-app"}}
		Eventually(func() string { return readyOf(ctx, refused) }, "60s").Should(Equal("False/" + ssov1.OrgNotAllowedReason))
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(refused), refused)).To(Succeed())
		Expect(refused.Status.AppID).To(BeEmpty())
		Expect(k8s.Delete(ctx, refused)).To(Succeed())
	})
})

// emulatorContainer is the okta-emulator container of the rendered
// Deployment.
func emulatorContainer(stream string) corev1.Container {
	dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(stream), 4096)
	for {
		var d appsv1.Deployment
		if err := dec.Decode(&d); err != nil {
			Fail("examples/ci renders no Deployment: " + err.Error())
		}
		if d.Kind == "Deployment" {
			return d.Spec.Template.Spec.Containers[0]
		}
	}
}

// kubeletArgs expands the container's args as the kubelet would, with this
// machine's values for what the cluster would provide.
func kubeletArgs(args []string, values map[string]string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		for from, to := range values {
			a = strings.ReplaceAll(a, from, to)
		}
		Expect(a).NotTo(ContainSubstring("/etc/okta-emulator"), "a path the test does not provide")
		out[i] = a
	}
	return out
}
