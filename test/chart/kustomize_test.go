package chart

import (
	"context"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// withoutMetadataDecoration drops what legitimately differs between the
// two installs: labels and annotations (Helm's own, the CRDs' keep policy).
func withoutMetadataDecoration(u *unstructured.Unstructured) map[string]any {
	c := u.DeepCopy()
	unstructured.RemoveNestedField(c.Object, "metadata", "labels")
	unstructured.RemoveNestedField(c.Object, "metadata", "annotations")
	return c.Object
}

var _ = Describe("kubectl apply -k config/default", func() {
	It("makes the same objects as the chart's defaults", func() {
		kustomized := objects(run("KUBECTL", "kubectl", "kustomize", repoRoot+"/config/default"))
		Expect(kustomized).To(HaveKey("Namespace /okta-sso-operator-system"), "kustomize makes the namespace; helm install --create-namespace does")
		delete(kustomized, "Namespace /okta-sso-operator-system")
		charted := render()
		Expect(keys(kustomized)).To(ConsistOf(keys(charted)))
		for k, want := range charted {
			Expect(withoutMetadataDecoration(kustomized[k])).To(Equal(withoutMetadataDecoration(want)), k)
		}
	})

	It("is accepted by the API server (server-side dry run)", func(ctx context.Context) {
		// A dry run creates nothing, so the namespace the objects go in must exist.
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "okta-sso-operator-system"}}
		Expect(client.IgnoreAlreadyExists(k8s.Create(ctx, ns))).To(Succeed())
		out := run("KUBECTL", "kubectl", "--kubeconfig", kubeconfigPath, "apply", "-k", repoRoot+"/config/default", "--dry-run=server")
		// created, or configured when the chart's install (another spec) made it first
		Expect(out).To(MatchRegexp(`deployment.apps/okta-sso-operator-controller-manager (created|configured) \(server dry run\)`))
		Expect(out).To(MatchRegexp(`customresourcedefinition.apiextensions.k8s.io/oktasamlapps.sso.oktaop.io (created|configured|unchanged) \(server dry run\)`))
	})
})
