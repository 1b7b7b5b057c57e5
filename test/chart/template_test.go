package chart

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// manager is the manager container of the rendered Deployment.
func manager(objs map[string]*unstructured.Unstructured) map[string]any {
	d := objs["Deployment okta-sso-operator-system/okta-sso-operator-controller-manager"]
	Expect(d).NotTo(BeNil(), "no Deployment among %v", keys(objs))
	containers, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
	Expect(containers).To(HaveLen(1))
	return containers[0].(map[string]any)
}

func args(objs map[string]*unstructured.Unstructured) []string {
	var out []string
	for _, a := range manager(objs)["args"].([]any) {
		out = append(out, a.(string))
	}
	return out
}

func podSpec(objs map[string]*unstructured.Unstructured) map[string]any {
	spec, _, _ := unstructured.NestedMap(objs["Deployment okta-sso-operator-system/okta-sso-operator-controller-manager"].Object, "spec", "template", "spec")
	return spec
}

var _ = Describe("helm lint", func() {
	It("passes, strictly", func() {
		Expect(helm("lint", "--strict", chartDir)).To(ContainSubstring("0 chart(s) failed"))
	})
})

var _ = Describe("helm template", func() {
	It("renders the defaults: CRDs kept, cluster-wide RBAC from the markers, a restricted pod", func() {
		objs := render()
		Expect(keys(objs)).To(ConsistOf(
			"CustomResourceDefinition /oktasamlapps.sso.oktaop.io", "CustomResourceDefinition /ssobindings.sso.oktaop.io",
			"CustomResourceDefinition /accountsyncs.sso.oktaop.io", "CustomResourceDefinition /oktasamlidentityproviders.sso.oktaop.io",
			"CustomResourceDefinition /clusteroktaorgs.sso.oktaop.io", "CustomResourceDefinition /oktaorgs.sso.oktaop.io",
			"ClusterRole /okta-sso-operator-tenant-edit", "ClusterRole /okta-sso-operator-tenant-view",
			"ServiceAccount okta-sso-operator-system/okta-sso-operator-controller-manager",
			"ClusterRole /okta-sso-operator-manager-role", "ClusterRoleBinding /okta-sso-operator-manager-rolebinding",
			"Role okta-sso-operator-system/okta-sso-operator-leader-election-role",
			"RoleBinding okta-sso-operator-system/okta-sso-operator-leader-election-rolebinding",
			"Service okta-sso-operator-system/okta-sso-operator-metrics", "ClusterRole /okta-sso-operator-metrics-reader",
			"Deployment okta-sso-operator-system/okta-sso-operator-controller-manager"))
		for _, k := range keys(objs) {
			if strings.HasPrefix(k, "CustomResourceDefinition") {
				Expect(objs[k].GetAnnotations()).To(HaveKeyWithValue("helm.sh/resource-policy", "keep"), k)
			}
		}

		By("the ClusterRole's rules are config/rbac/role.yaml's, which controller-gen writes from the markers")
		role, err := os.ReadFile(filepath.Join(repoRoot, "config", "rbac", "role.yaml"))
		Expect(err).NotTo(HaveOccurred())
		var generated map[string]any
		Expect(yaml.Unmarshal(role, &generated)).To(Succeed())
		Expect(objs["ClusterRole /okta-sso-operator-manager-role"].Object["rules"]).To(Equal(generated["rules"]))

		By("one replica, no leader election, replaced not rolled")
		Expect(args(objs)).NotTo(ContainElement("--leader-elect"))
		Expect(args(objs)).To(ContainElements("--metrics-bind-address=:8443", "--metrics-secure", "--health-probe-bind-address=:8081",
			"--graceful-shutdown-timeout=8s", "--log-level=info", "--log-format=json"))
		strategy, _, _ := unstructured.NestedString(objs["Deployment okta-sso-operator-system/okta-sso-operator-controller-manager"].Object, "spec", "strategy", "type")
		Expect(strategy).To(Equal("Recreate"))

		By("restricted: non-root, read-only root, no capabilities, RuntimeDefault seccomp, no automounted token")
		spec := podSpec(objs)
		Expect(spec["automountServiceAccountToken"]).To(BeFalse())
		Expect(spec["securityContext"]).To(HaveKeyWithValue("runAsNonRoot", true))
		Expect(spec["securityContext"]).To(HaveKeyWithValue("seccompProfile", map[string]any{"type": "RuntimeDefault"}))
		sc := manager(objs)["securityContext"].(map[string]any)
		Expect(sc).To(HaveKeyWithValue("readOnlyRootFilesystem", true))
		Expect(sc).To(HaveKeyWithValue("allowPrivilegeEscalation", false))
		Expect(sc).To(HaveKeyWithValue("capabilities", map[string]any{"drop": []any{"ALL"}}))
		Expect(manager(objs)["image"]).To(MatchRegexp(`^okta-sso-operator:\d+\.\d+\.\d+`))
		Expect(objs["ServiceAccount okta-sso-operator-system/okta-sso-operator-controller-manager"].Object["automountServiceAccountToken"]).To(BeFalse())
	})

	DescribeTable("renders what each value asks for",
		func(values []string, check func(map[string]*unstructured.Unstructured)) { check(render(values...)) },
		Entry("replicaCount 2 elects a leader and rolls", []string{"replicaCount=2"}, func(objs map[string]*unstructured.Unstructured) {
			Expect(args(objs)).To(ContainElement("--leader-elect"))
			_, found, _ := unstructured.NestedString(objs["Deployment okta-sso-operator-system/okta-sso-operator-controller-manager"].Object, "spec", "strategy", "type")
			Expect(found).To(BeFalse())
		}),
		Entry("watchNamespaces grants Roles in just those namespaces, and no ClusterRole", []string{"watchNamespaces={team-a,team-b}"}, func(objs map[string]*unstructured.Unstructured) {
			Expect(args(objs)).To(ContainElement("--watch-namespaces=team-a,team-b"))
			Expect(objs).To(HaveKey("Role team-a/okta-sso-operator-manager-role"))
			Expect(objs).To(HaveKey("RoleBinding team-b/okta-sso-operator-manager-rolebinding"))
			Expect(objs).NotTo(HaveKey("ClusterRole /okta-sso-operator-manager-role"))
			Expect(objs).NotTo(HaveKey("ClusterRoleBinding /okta-sso-operator-manager-rolebinding"))
			Expect(objs).To(HaveKey("Role okta-sso-operator-system/okta-sso-operator-manager-role"), "the release's namespace holds ClusterOktaOrgs' credentials")
			Expect(objs).To(HaveKey("ClusterRole /okta-sso-operator-cluster-scoped"), "ClusterOktaOrgs and namespaces")
			Expect(objs).To(HaveKey("ClusterRoleBinding /okta-sso-operator-cluster-scoped"))
		}),
		Entry("clusterID names the cluster; the release's namespace holds cluster orgs' credentials", []string{"clusterID=prod-eu-1"}, func(objs map[string]*unstructured.Unstructured) {
			Expect(args(objs)).To(ContainElement("--cluster-id=prod-eu-1"))
			Expect(args(objs)).To(ContainElement("--cluster-resource-namespace=okta-sso-operator-system"))
		}),
		Entry("crds.enabled false installs none", []string{"crds.enabled=false"}, func(objs map[string]*unstructured.Unstructured) {
			for _, k := range keys(objs) {
				Expect(k).NotTo(HavePrefix("CustomResourceDefinition"))
			}
		}),
		Entry("crds.keep false lets uninstall delete them", []string{"crds.keep=false"}, func(objs map[string]*unstructured.Unstructured) {
			Expect(objs["CustomResourceDefinition /oktasamlapps.sso.oktaop.io"].GetAnnotations()).NotTo(HaveKey("helm.sh/resource-policy"))
		}),
		Entry("flags, image and scheduling", []string{"logLevel=debug", "logFormat=text", "image.repository=registry.example/sso/operator", "image.tag=1.2.3",
			"nodeSelector.kubernetes\\.io/os=linux", "tolerations[0].operator=Exists", "priorityClassName=system-cluster-critical",
			"podAnnotations.team=identity", "podLabels.tier=platform", "imagePullSecrets[0].name=pull", "extraArgs={--pprof-bind-address=127.0.0.1:6060}",
			"topologySpreadConstraints[0].maxSkew=1", "topologySpreadConstraints[0].topologyKey=kubernetes.io/hostname", "topologySpreadConstraints[0].whenUnsatisfiable=ScheduleAnyway",
			"affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].key=kubernetes.io/arch",
			"affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].operator=Exists"},
			func(objs map[string]*unstructured.Unstructured) {
				Expect(args(objs)).To(ContainElements("--log-level=debug", "--log-format=text", "--pprof-bind-address=127.0.0.1:6060"))
				Expect(manager(objs)["image"]).To(Equal("registry.example/sso/operator:1.2.3"))
				spec := podSpec(objs)
				Expect(spec["nodeSelector"]).To(Equal(map[string]any{"kubernetes.io/os": "linux"}))
				Expect(spec["tolerations"]).To(Equal([]any{map[string]any{"operator": "Exists"}}))
				Expect(spec["priorityClassName"]).To(Equal("system-cluster-critical"))
				Expect(spec["imagePullSecrets"]).To(Equal([]any{map[string]any{"name": "pull"}}))
				Expect(spec["topologySpreadConstraints"]).To(HaveLen(1))
				Expect(spec).To(HaveKey("affinity"))
				tmpl, _, _ := unstructured.NestedMap(objs["Deployment okta-sso-operator-system/okta-sso-operator-controller-manager"].Object, "spec", "template", "metadata")
				Expect(tmpl["annotations"]).To(HaveKeyWithValue("team", "identity"))
				Expect(tmpl["labels"]).To(HaveKeyWithValue("tier", "platform"))
			}),
		Entry("a custom CA bundle through extra env and volumes", []string{"extraEnv[0].name=SSL_CERT_FILE", "extraEnv[0].value=/etc/okta-ca/ca.crt",
			"extraVolumes[0].name=okta-ca", "extraVolumes[0].configMap.name=okta-ca",
			"extraVolumeMounts[0].name=okta-ca", "extraVolumeMounts[0].mountPath=/etc/okta-ca", "extraVolumeMounts[0].readOnly=true"},
			func(objs map[string]*unstructured.Unstructured) {
				Expect(manager(objs)["env"]).To(Equal([]any{map[string]any{"name": "SSL_CERT_FILE", "value": "/etc/okta-ca/ca.crt"}}))
				Expect(manager(objs)["volumeMounts"]).To(ContainElement(map[string]any{"name": "okta-ca", "mountPath": "/etc/okta-ca", "readOnly": true}))
				Expect(podSpec(objs)["volumes"]).To(ContainElement(map[string]any{"name": "okta-ca", "configMap": map[string]any{"name": "okta-ca"}}))
			}),
		Entry("ServiceMonitor, PodDisruptionBudget and the dashboard when asked", []string{"metrics.serviceMonitor.enabled=true", "metrics.serviceMonitor.labels.release=prom",
			"podDisruptionBudget.enabled=true", "dashboard.enabled=true"},
			func(objs map[string]*unstructured.Unstructured) {
				Expect(objs["ServiceMonitor okta-sso-operator-system/okta-sso-operator"].GetLabels()).To(HaveKeyWithValue("release", "prom"))
				Expect(objs).To(HaveKey("PodDisruptionBudget okta-sso-operator-system/okta-sso-operator"))
				dashboard := objs["ConfigMap okta-sso-operator-system/okta-sso-operator-dashboard"]
				Expect(dashboard.GetLabels()).To(HaveKeyWithValue("grafana_dashboard", "1"))
				data, _, _ := unstructured.NestedString(dashboard.Object, "data", "okta-sso-operator.json")
				Expect(data).To(ContainSubstring(`rate(okta_requests_total`))
			}),
		Entry("no metrics Service when disabled", []string{"metrics.service.enabled=false"}, func(objs map[string]*unstructured.Unstructured) {
			Expect(objs).NotTo(HaveKey("Service okta-sso-operator-system/okta-sso-operator-metrics"))
		}),
		Entry("the event hook: its flags, the Secret mounted, a Service and an Ingress", []string{"eventHook.enabled=true", "eventHook.secretName=okta-hook",
			"eventHook.ingress.enabled=true", "eventHook.ingress.host=hooks.example.com", "eventHook.ingress.tlsSecretName=hooks-tls"},
			func(objs map[string]*unstructured.Unstructured) {
				Expect(args(objs)).To(ContainElements("--event-hook-bind-address=:9443", "--event-hook-header=Authorization",
					"--event-hook-secret-file=/etc/okta-event-hook/secret"))
				Expect(manager(objs)["volumeMounts"]).To(ContainElement(map[string]any{"name": "event-hook-secret", "mountPath": "/etc/okta-event-hook", "readOnly": true}))
				Expect(podSpec(objs)["volumes"]).To(ContainElement(HaveKeyWithValue("secret", HaveKeyWithValue("secretName", "okta-hook"))))
				Expect(objs).To(HaveKey("Service okta-sso-operator-system/okta-sso-operator-event-hook"))
				rules, _, _ := unstructured.NestedSlice(objs["Ingress okta-sso-operator-system/okta-sso-operator-event-hook"].Object, "spec", "rules")
				Expect(rules).To(HaveLen(1))
				Expect(rules[0]).To(HaveKeyWithValue("host", "hooks.example.com"))
			}),
		Entry("the event hook with a secret per org only: no manager-wide Secret mounted", []string{"eventHook.enabled=true"},
			func(objs map[string]*unstructured.Unstructured) {
				Expect(args(objs)).To(ContainElement("--event-hook-bind-address=:9443"))
				for _, a := range args(objs) {
					Expect(a).NotTo(HavePrefix("--event-hook-secret-file"))
				}
				Expect(podSpec(objs)["volumes"]).NotTo(ContainElement(HaveKeyWithValue("name", "event-hook-secret")))
			}),
		Entry("workers, namespace lanes and the cluster's ranges", []string{"accountSyncWorkers=8", "bindingWorkers=6", "identityProviderWorkers=3", "namespaceConcurrency=2",
			"clusterCIDRs={10.244.0.0/16,10.96.0.0/12}"},
			func(objs map[string]*unstructured.Unstructured) {
				Expect(args(objs)).To(ContainElements("--accountsync-workers=8", "--binding-workers=6", "--identity-provider-workers=3",
					"--namespace-concurrency=2", "--cluster-cidrs=10.244.0.0/16,10.96.0.0/12"))
				Expect(args(objs)).NotTo(ContainElement("--allow-loopback-targets"))
				rules, _, _ := unstructured.NestedSlice(objs["ClusterRole /okta-sso-operator-manager-role"].Object, "rules")
				Expect(rules).To(ContainElement(HaveKeyWithValue("resources", ContainElement("nodes"))), "the manager role comes from the markers")
			}),
		Entry("the cluster's ranges learned by default, never loopback", nil, func(objs map[string]*unstructured.Unstructured) {
			Expect(args(objs)).To(ContainElement("--cluster-cidrs=auto"))
			Expect(args(objs)).NotTo(ContainElement("--allow-loopback-targets"))
		}),
		Entry("secure metrics: the reader role, the review rights, and a ServiceMonitor that authenticates", []string{"metrics.serviceMonitor.enabled=true"},
			func(objs map[string]*unstructured.Unstructured) {
				reader, _, _ := unstructured.NestedSlice(objs["ClusterRole /okta-sso-operator-metrics-reader"].Object, "rules")
				Expect(reader).To(ConsistOf(HaveKeyWithValue("nonResourceURLs", ConsistOf("/metrics"))))
				rules, _, _ := unstructured.NestedSlice(objs["ClusterRole /okta-sso-operator-manager-role"].Object, "rules")
				Expect(rules).To(ContainElement(HaveKeyWithValue("apiGroups", ContainElement("authentication.k8s.io"))))
				endpoints, _, _ := unstructured.NestedSlice(objs["ServiceMonitor okta-sso-operator-system/okta-sso-operator"].Object, "spec", "endpoints")
				Expect(endpoints[0]).To(And(HaveKeyWithValue("scheme", "https"), HaveKey("bearerTokenFile"), HaveKey("tlsConfig")))
			}),
		Entry("plain metrics when secure is off", []string{"metrics.secure=false", "metrics.port=8080", "metrics.serviceMonitor.enabled=true"},
			func(objs map[string]*unstructured.Unstructured) {
				Expect(args(objs)).NotTo(ContainElement("--metrics-secure"))
				Expect(objs).NotTo(HaveKey("ClusterRole /okta-sso-operator-metrics-reader"))
				endpoints, _, _ := unstructured.NestedSlice(objs["ServiceMonitor okta-sso-operator-system/okta-sso-operator"].Object, "spec", "endpoints")
				Expect(endpoints[0]).NotTo(HaveKey("scheme"))
			}),
		Entry("a NetworkPolicy when asked: ingress to metrics and the hook only, egress to DNS, the API and public 443", []string{"networkPolicy.enabled=true",
			"eventHook.enabled=true", "networkPolicy.apiServer.cidrs={10.0.0.1/32}"},
			func(objs map[string]*unstructured.Unstructured) {
				np := objs["NetworkPolicy okta-sso-operator-system/okta-sso-operator"]
				Expect(np).NotTo(BeNil())
				ingress, _, _ := unstructured.NestedSlice(np.Object, "spec", "ingress")
				Expect(ingress).To(HaveLen(2))
				egress, _, _ := unstructured.NestedSlice(np.Object, "spec", "egress")
				Expect(egress).To(HaveLen(3))
				Expect(egress[1]).To(HaveKeyWithValue("to", ConsistOf(HaveKeyWithValue("ipBlock", HaveKeyWithValue("cidr", "10.0.0.1/32")))))
				Expect(egress[2]).To(HaveKeyWithValue("to", ConsistOf(HaveKeyWithValue("ipBlock", HaveKeyWithValue("except", ContainElement("169.254.0.0/16"))))))
			}),
		Entry("no NetworkPolicy by default", nil, func(objs map[string]*unstructured.Unstructured) {
			Expect(objs).NotTo(HaveKey("NetworkPolicy okta-sso-operator-system/okta-sso-operator"))
		}),
		Entry("no event hook by default", nil, func(objs map[string]*unstructured.Unstructured) {
			Expect(objs).NotTo(HaveKey("Service okta-sso-operator-system/okta-sso-operator-event-hook"))
			for _, a := range args(objs) {
				Expect(a).NotTo(HavePrefix("--event-hook"))
			}
		}),
	)

	DescribeTable("refuses a value of the wrong type, naming it",
		func(value, named string) {
			out, err := runErr("HELM", "helm", "template", "x", chartDir, "--set", value)
			Expect(err).To(HaveOccurred())
			Expect(out).To(MatchRegexp(regexp.QuoteMeta(named)))
		},
		Entry("a number as text", "replicaCount=two", "/replicaCount"),
		Entry("a log level it does not know", "logLevel=chatty", "/logLevel"),
		Entry("a namespace that is not a name", "watchNamespaces={Team_A}", "/watchNamespaces/0"),
		Entry("a value that does not exist", "replicas=2", "replicas"),
		Entry("a duration that is not one", "gracefulShutdownTimeout=soon", "/gracefulShutdownTimeout"),
		Entry("more of one org's apps at once than Okta's concurrency allows for", "appConcurrency=100", "/appConcurrency"),
		Entry("no app workers", "appWorkers=0", "/appWorkers"),
	)
})
