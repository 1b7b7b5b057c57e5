package chart

import (
	"context"
	"os/exec"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gexec"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
	"github.com/oktaop/okta-sso-operator/pkg/emulator"
)

const (
	release     = "okta-sso-operator"
	releaseNS   = "okta-sso-operator-system"
	chartToken  = "chart-suite-api-token"
	serviceUser = "system:serviceaccount:" + releaseNS + ":okta-sso-operator-controller-manager"
)

// asServiceAccount is a kubeconfig that impersonates the chart's
// ServiceAccount, so what it may do is exactly what the chart grants.
func asServiceAccount() (string, client.Client) { return as(serviceUser) }

// as is a kubeconfig and a client that act as the user.
func as(user string) (string, client.Client) {
	cfg, err := clientcmd.Load(adminConfig)
	Expect(err).NotTo(HaveOccurred())
	for _, auth := range cfg.AuthInfos {
		auth.Impersonate = user
	}
	path := filepath.Join(GinkgoT().TempDir(), "as-user")
	Expect(clientcmd.WriteToFile(*cfg, path)).To(Succeed())
	rest, err := clientcmd.BuildConfigFromFlags("", path)
	Expect(err).NotTo(HaveOccurred())
	c, err := client.New(rest, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
	return path, c
}

func startManagerAs(kubeconfig string, args ...string) *gexec.Session {
	cmd := exec.Command(managerBin, append([]string{"--kubeconfig", kubeconfig, "--metrics-bind-address", "0",
		"--health-probe-bind-address", "127.0.0.1:0", "--allow-loopback-targets"}, args...)...)
	session, err := gexec.Start(cmd, GinkgoWriter, GinkgoWriter)
	Expect(err).NotTo(HaveOccurred())
	return session
}

func newNamespace(ctx context.Context, name string) {
	Expect(client.IgnoreAlreadyExists(k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}))).To(Succeed())
}

// appIn is an OktaSAMLApp with its org Secret in namespace.
func appIn(ctx context.Context, namespace, name, orgURL string) *ssov1.OktaSAMLApp {
	newNamespace(ctx, namespace)
	org := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "okta-org"},
		StringData: map[string]string{"orgURL": orgURL, "apiToken": chartToken}}
	Expect(client.IgnoreAlreadyExists(k8s.Create(ctx, org))).To(Succeed())
	app := &ssov1.OktaSAMLApp{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}, Spec: ssov1.OktaSAMLAppSpec{
		OrgRef: ssov1.OrgReference{SecretName: "okta-org"}, Label: "Chart " + name, DeletionPolicy: ssov1.DeletionPolicyOrphan,
		ServiceProvider: &ssov1.ServiceProvider{EntityID: "https://" + name + ".example.com/saml", ACSURL: ssov1.URL("https://" + name + ".example.com/saml/acs")}}}
	Expect(k8s.Create(ctx, app)).To(Succeed())
	return app
}

func ready(ctx context.Context, app *ssov1.OktaSAMLApp) func(Gomega) {
	return func(g Gomega) {
		got := &ssov1.OktaSAMLApp{}
		g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(app), got)).To(Succeed())
		g.Expect(meta.IsStatusConditionTrue(got.Status.Conditions, ssov1.ReadyCondition)).To(BeTrue(), "%v", got.Status.Conditions)
	}
}

var _ = Describe("helm install", Ordered, func() {
	var orgURL string
	BeforeAll(func() {
		org, err := emulator.Start(emulator.Config{APIToken: chartToken, OrgName: "acme"})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(org.Close)
		orgURL = org.BaseURL()
	})

	It("installs the CRDs and the operator; the manager as the chart's ServiceAccount brings an app to Ready", func(ctx context.Context) {
		out := helm("install", release, chartDir, "--kubeconfig", kubeconfigPath, "--namespace", releaseNS, "--create-namespace")
		Expect(out).To(ContainSubstring("STATUS: deployed"))
		Expect(out).To(ContainSubstring("Check that it is working"), "NOTES.txt")
		for _, name := range []string{"oktasamlapps", "ssobindings", "accountsyncs"} {
			Expect(k8s.Get(ctx, client.ObjectKey{Name: name + ".sso.oktaop.io"}, &apiextensionsv1.CustomResourceDefinition{})).To(Succeed())
		}

		kubeconfig, _ := asServiceAccount()
		session := startManagerAs(kubeconfig)
		DeferCleanup(func() { session.Terminate().Wait("15s") })
		app := appIn(ctx, "team-a", "portal", orgURL)
		Eventually(ready(ctx, app), "60s").Should(Succeed())
	})

	It("lets a team bound to the tenant role write its kinds in its namespace, and nothing of the platform's", func(ctx context.Context) {
		newNamespace(ctx, "team-a")
		newNamespace(ctx, "team-b")
		// The API server's aggregation controller folds the tenant role into
		// edit; envtest runs none, so the team is bound to it directly.
		Expect(client.IgnoreAlreadyExists(k8s.Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "team-a-sso"},
			RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: release + "-tenant-edit"},
			Subjects: []rbacv1.Subject{{Kind: "User", Name: "alice@team-a"}}}))).To(Succeed())
		_, alice := as("alice@team-a")
		app := &ssov1.OktaSAMLApp{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "alices-app"}, Spec: ssov1.OktaSAMLAppSpec{
			OrgRef: ssov1.OrgReference{Kind: ssov1.OrgKindCluster, Name: "company"}, Label: "Alice's app", DeletionPolicy: ssov1.DeletionPolicyOrphan,
			ServiceProvider: &ssov1.ServiceProvider{EntityID: "alice", ACSURL: "https://alice.example.com/acs"}}}
		Expect(alice.Create(ctx, app)).To(Succeed(), "an app in her namespace")
		Expect(alice.Delete(ctx, app)).To(Succeed())

		elsewhere := app.DeepCopy()
		elsewhere.Namespace, elsewhere.ResourceVersion = "team-b", ""
		Expect(apierrors.IsForbidden(alice.Create(ctx, elsewhere))).To(BeTrue(), "an app in another team's namespace")
		org := &ssov1.ClusterOktaOrg{ObjectMeta: metav1.ObjectMeta{Name: "alices-org"}, Spec: ssov1.ClusterOktaOrgSpec{OktaOrgSpec: ssov1.OktaOrgSpec{
			URL: "https://acme.okta.com", Credentials: ssov1.OrgCredentials{APIToken: &ssov1.SecretKeySelector{Name: "t", Key: "t"}}}}}
		Expect(apierrors.IsForbidden(alice.Create(ctx, org))).To(BeTrue(), "a ClusterOktaOrg is the platform's")
		mine := app.DeepCopy()
		mine.ResourceVersion = ""
		Expect(alice.Create(ctx, mine)).To(Succeed())
		mine.Status.AppID, mine.Status.Origin = "0oaSomebodyElses", ssov1.OriginCreated
		Expect(apierrors.IsForbidden(alice.Status().Update(ctx, mine))).To(BeTrue(), "status, where ownership is recorded, is the operator's")
		Expect(k8s.Delete(ctx, mine)).To(Succeed())
	})

	It("with watchNamespaces, grants just those namespaces: the operator works there and cannot read a Secret elsewhere", func(ctx context.Context) {
		newNamespace(ctx, "team-a")
		newNamespace(ctx, "team-b")
		helm("upgrade", release, chartDir, "--kubeconfig", kubeconfigPath, "--namespace", releaseNS, "--set", "watchNamespaces={team-a}")
		kubeconfig, asSA := asServiceAccount()

		elsewhere := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "team-b", Name: "not-yours"}, StringData: map[string]string{"k": "v"}}
		Expect(k8s.Create(ctx, elsewhere)).To(Succeed())
		err := asSA.Get(ctx, client.ObjectKeyFromObject(elsewhere), &corev1.Secret{})
		Expect(apierrors.IsForbidden(err)).To(BeTrue(), "reading a Secret in team-b: %v", err)
		Expect(apierrors.IsForbidden(asSA.List(ctx, &corev1.SecretList{}))).To(BeTrue(), "listing Secrets cluster-wide")

		session := startManagerAs(kubeconfig, "--watch-namespaces", "team-a")
		DeferCleanup(func() { session.Terminate().Wait("15s") })
		app := appIn(ctx, "team-a", "wiki", orgURL)
		Eventually(ready(ctx, app), "60s").Should(Succeed())
	})

	It("helm uninstall leaves the CRDs and the objects", func(ctx context.Context) {
		helm("uninstall", release, "--kubeconfig", kubeconfigPath, "--namespace", releaseNS)
		Expect(k8s.Get(ctx, client.ObjectKey{Name: "oktasamlapps.sso.oktaop.io"}, &apiextensionsv1.CustomResourceDefinition{})).To(Succeed())
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: "team-a", Name: "portal"}, &ssov1.OktaSAMLApp{})).To(Succeed())
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: releaseNS, Name: "okta-sso-operator-controller-manager"}, &corev1.ServiceAccount{})).
			To(WithTransform(apierrors.IsNotFound, BeTrue()), "the release's own objects are gone")
	})
})
