// Package e2e runs the built binaries as processes against a real
// kube-apiserver and etcd.
package e2e

import (
	"context"
	"path/filepath"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gexec"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/oktaop/okta-sso-operator/test/harness"
)

var (
	apiServer      *harness.APIServer
	testEnv        *envtest.Environment
	k8s            client.Client
	kubeconfigPath string
	managerBin     string
	repoRoot       = filepath.Join("..", "..")
)

func TestE2E(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "End-to-end suite")
}

var _ = BeforeSuite(func(ctx context.Context) {
	var err error
	managerBin, err = gexec.Build("github.com/oktaop/okta-sso-operator/cmd/manager")
	Expect(err).NotTo(HaveOccurred())
	apiServer = harness.StartAPIServer(repoRoot)
	testEnv, k8s, kubeconfigPath = apiServer.Env, apiServer.Client, apiServer.Kubeconfig
})

var _ = AfterSuite(func() { apiServer.Stop() })
