// Package chart tests the Helm chart and the kustomize install: helm lint,
// helm template with several value sets, the kustomize objects against the
// chart's defaults, and a helm install into a real API server (its own, with
// no CRDs, so the chart installs them) on which the built manager, running
// as the chart's ServiceAccount, brings an OktaSAMLApp to Ready.
package chart

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gexec"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	ssov1alpha1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
)

var (
	repoRoot, _ = filepath.Abs(filepath.Join("..", ".."))
	chartDir    = filepath.Join(repoRoot, "charts", "okta-sso-operator")

	testEnv        *envtest.Environment
	k8s            client.Client
	scheme         = runtime.NewScheme()
	adminConfig    []byte // kubeconfig of an administrator
	kubeconfigPath string
	managerBin     string
)

func TestChart(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Chart suite")
}

var _ = BeforeSuite(func() {
	var err error
	managerBin, err = gexec.Build("github.com/oktaop/okta-sso-operator/cmd/manager")
	Expect(err).NotTo(HaveOccurred())

	testEnv = &envtest.Environment{} // no CRDs: the chart installs them
	cfg, err := testEnv.Start()
	Expect(err).NotTo(HaveOccurred())
	Expect(clientgoscheme.AddToScheme(scheme)).To(Succeed())
	Expect(ssov1alpha1.AddToScheme(scheme)).To(Succeed())
	Expect(apiextensionsv1.AddToScheme(scheme)).To(Succeed())
	k8s, err = client.New(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
	admin, err := testEnv.AddUser(envtest.User{Name: "chart-admin", Groups: []string{"system:masters"}}, nil)
	Expect(err).NotTo(HaveOccurred())
	adminConfig, err = admin.KubeConfig()
	Expect(err).NotTo(HaveOccurred())
	kubeconfigPath = filepath.Join(GinkgoT().TempDir(), "kubeconfig")
	Expect(os.WriteFile(kubeconfigPath, adminConfig, 0o600)).To(Succeed())
})

var _ = AfterSuite(func() {
	gexec.KillAndWait()
	gexec.CleanupBuildArtifacts()
	if testEnv != nil {
		Expect(testEnv.Stop()).To(Succeed())
	}
})

// tool is a binary make test provides (HELM, KUBECTL), or the one on PATH.
func tool(env, name string) string {
	path := os.Getenv(env)
	if path == "" {
		path = name
	}
	found, err := exec.LookPath(path)
	Expect(err).NotTo(HaveOccurred(), "%s is needed; make test sets %s", name, env)
	return found
}

// run runs a tool and returns its output, failing the spec on an error.
func run(env, name string, args ...string) string {
	out, err := runErr(env, name, args...)
	Expect(err).NotTo(HaveOccurred(), "%s %s:\n%s", name, strings.Join(args, " "), out)
	return out
}

func runErr(env, name string, args ...string) (string, error) {
	cmd := exec.Command(tool(env, name), args...)
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+GinkgoT().TempDir(), "HELM_CONFIG_HOME="+GinkgoT().TempDir(), "HELM_DATA_HOME="+GinkgoT().TempDir())
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func helm(args ...string) string { return run("HELM", "helm", args...) }

// objects parses a multi-document YAML stream into objects, by
// "Kind namespace/name".
func objects(stream string) map[string]*unstructured.Unstructured {
	out := map[string]*unstructured.Unstructured{}
	dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(stream), 4096)
	for {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			break
		}
		if len(m) == 0 {
			continue
		}
		u := &unstructured.Unstructured{Object: m}
		out[key(u)] = u
	}
	return out
}

func key(u *unstructured.Unstructured) string {
	return u.GetKind() + " " + u.GetNamespace() + "/" + u.GetName()
}

func keys(objs map[string]*unstructured.Unstructured) []string {
	var out []string
	for k := range objs {
		out = append(out, k)
	}
	return out
}

// render is helm template of the chart with a release name, a namespace
// and --set values.
func render(values ...string) map[string]*unstructured.Unstructured {
	args := []string{"template", "okta-sso-operator", chartDir, "--namespace", "okta-sso-operator-system"}
	for _, v := range values {
		args = append(args, "--set", v)
	}
	return objects(helm(args...))
}
