package v1alpha1_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/discovery"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	ssov1alpha1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
)

const samplesDir = "../../config/samples"

// readSample returns the object in one file of config/samples.
func readSample(file string) *unstructured.Unstructured {
	data, err := os.ReadFile(filepath.Join(samplesDir, file))
	Expect(err).NotTo(HaveOccurred())
	obj := &unstructured.Unstructured{}
	Expect(yaml.Unmarshal(data, &obj.Object)).To(Succeed())
	return obj
}

// createInTestNamespace creates a copy of obj under a fresh name.
func createInTestNamespace(ctx context.Context, obj *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	obj = obj.DeepCopy()
	obj.SetNamespace(namespace)
	obj.SetName(obj.GetName() + "-" + rand.String(5))
	return obj, k8s.Create(ctx, obj)
}

var _ = Describe("config/samples", func() {
	It("are all accepted by the API server", func(ctx context.Context) {
		files, err := filepath.Glob(filepath.Join(samplesDir, "sso_*.yaml"))
		Expect(err).NotTo(HaveOccurred())
		Expect(len(files)).To(BeNumerically(">=", 7))
		for _, f := range files {
			_, err := createInTestNamespace(ctx, readSample(filepath.Base(f)))
			Expect(err).NotTo(HaveOccurred(), f)
		}
	})

	It("defaults an OktaSAMLApp as documented", func(ctx context.Context) {
		created, err := createInTestNamespace(ctx, readSample("sso_v1alpha1_oktasamlapp_druva.yaml"))
		Expect(err).NotTo(HaveOccurred())
		app := &ssov1alpha1.OktaSAMLApp{}
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(created), app)).To(Succeed())

		s := app.Spec
		Expect(s.Active).To(Equal(ptr.To(true)))
		Expect(s.DeletionPolicy).To(Equal(ssov1alpha1.DeletionPolicyDelete))
		Expect(s.Interval.Duration).To(Equal(10 * time.Minute))
		Expect(s.Suspend).To(BeFalse())
		Expect(s.SignOn.NameIDFormat).To(Equal(ssov1alpha1.NameIDFormatEmailAddress), "kept as written")
		Expect(s.SignOn.ResponseSigned).To(Equal(ptr.To(true)))
		Expect(s.SignOn.AssertionSigned).To(Equal(ptr.To(true)))
		Expect(s.SignOn.HonorForceAuthn).To(Equal(ptr.To(true)))
		Expect(s.SignOn.SignatureAlgorithm).To(BeEquivalentTo("RSA_SHA256"))
		Expect(s.SignOn.DigestAlgorithm).To(BeEquivalentTo("SHA256"))
		Expect(s.SignOn.AuthnContextClassRef).To(Equal("urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"))
		Expect(s.SignOn.AttributeStatements[0].NameFormat).To(BeEquivalentTo("Unspecified"))
		Expect(s.IDPInitiated.Enabled).To(Equal(ptr.To(true)))
		Expect(s.SigningKey.ValidityYears).To(BeEquivalentTo(10))
		Expect(s.SigningKey.RotateBefore.Duration).To(Equal(720 * time.Hour))
		Expect(s.SigningKey.PromoteAfter.Duration).To(Equal(168 * time.Hour))
		Expect(app.ConnectionSecretName()).To(Equal(app.Name + "-saml"))
	})

	It("defaults the unset sign-on fields of a custom app", func(ctx context.Context) {
		obj := readSample("sso_v1alpha1_oktasamlapp_druva.yaml")
		unstructured.RemoveNestedField(obj.Object, "spec", "signOn")
		created, err := createInTestNamespace(ctx, obj)
		Expect(err).NotTo(HaveOccurred())
		app := &ssov1alpha1.OktaSAMLApp{}
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(created), app)).To(Succeed())
		Expect(app.Spec.SignOn.NameIDFormat).To(Equal(ssov1alpha1.NameIDFormatUnspecified))
		Expect(app.Spec.SignOn.UsernameTemplate).To(Equal("${source.login}"))
	})

	It("defaults a generated SP certificate's lifetime", func(ctx context.Context) {
		obj := readSample("sso_v1alpha1_oktasamlapp_backup.yaml")
		Expect(unstructured.SetNestedMap(obj.Object, map[string]any{}, "spec", "serviceProvider", "signingCertificate", "generate")).To(Succeed())
		created, err := createInTestNamespace(ctx, obj)
		Expect(err).NotTo(HaveOccurred())
		app := &ssov1alpha1.OktaSAMLApp{}
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(created), app)).To(Succeed())
		gen := app.Spec.ServiceProvider.SigningCertificate.Generate
		Expect(gen.Validity.Duration).To(Equal(8760 * time.Hour))
		Expect(gen.RenewBefore.Duration).To(Equal(720 * time.Hour))
	})

	It("defaults an SSOBinding as documented", func(ctx context.Context) {
		created, err := createInTestNamespace(ctx, readSample("sso_v1alpha1_ssobinding_groups.yaml"))
		Expect(err).NotTo(HaveOccurred())
		b := &ssov1alpha1.SSOBinding{}
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(created), b)).To(Succeed())
		Expect(b.Spec.Mode).To(Equal(ssov1alpha1.BindingModeAdditive))
		Expect(b.Spec.Interval.Duration).To(Equal(10 * time.Minute))
	})

	It("defaults an AccountSync as documented", func(ctx context.Context) {
		created, err := createInTestNamespace(ctx, readSample("sso_v1alpha1_accountsync_match.yaml"))
		Expect(err).NotTo(HaveOccurred())
		as := &ssov1alpha1.AccountSync{}
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(created), as)).To(Succeed())
		Expect(as.Spec.Mode).To(Equal(ssov1alpha1.SyncModeMatch))
		Expect(as.Spec.Match.OktaAttribute).To(Equal("email"))
		Expect(as.Spec.Match.TargetAttribute).To(Equal("userName"))
		Expect(as.Spec.Safeguard.MaxDeactivationPercent).To(Equal(ptr.To[int32](20)))
		Expect(as.Spec.Target.SCIM.AuthType).To(Equal(ssov1alpha1.SCIMAuthBearer))
		Expect(as.Spec.Interval.Duration).To(Equal(24 * time.Hour))
		Expect(as.Spec.DryRun).To(BeFalse())

		provision, err := createInTestNamespace(ctx, readSample("sso_v1alpha1_accountsync_provision.yaml"))
		Expect(err).NotTo(HaveOccurred())
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(provision), as)).To(Succeed())
		Expect(as.Spec.AttributeMappings[0].Apply).To(Equal(ssov1alpha1.MappingApplyCreateAndUpdate))
		Expect(as.Spec.AttributeMappings[2].Apply).To(Equal(ssov1alpha1.MappingApplyCreateOnly))
	})

	It("defaults the durations a Go client leaves at zero", func(ctx context.Context) {
		// A zero metav1.Duration must be left out of the request, not sent
		// as "0s", or the defaults never apply and admission refuses it.
		app := &ssov1alpha1.OktaSAMLApp{
			ObjectMeta: metav1.ObjectMeta{Namespace: namespace, GenerateName: "typed-"},
			Spec: ssov1alpha1.OktaSAMLAppSpec{
				OrgRef: ssov1alpha1.OrgReference{SecretName: "okta-org"}, Label: "Typed",
				ServiceProvider: &ssov1alpha1.ServiceProvider{EntityID: "typed", ACSURL: "https://typed.example.com/acs",
					SigningCertificate: &ssov1alpha1.SigningCertificate{Generate: &ssov1alpha1.GenerateCertificate{}}},
			},
		}
		Expect(k8s.Create(ctx, app)).To(Succeed())
		Expect(app.Spec.Interval.Duration).To(Equal(10 * time.Minute))
		Expect(app.Spec.SigningKey.RotateBefore.Duration).To(Equal(720 * time.Hour))
		Expect(app.Spec.ServiceProvider.SigningCertificate.Generate.Validity.Duration).To(Equal(8760 * time.Hour))
	})

	It("lists every kind under the sso category", func(ctx context.Context) {
		for _, list := range []client.ObjectList{&ssov1alpha1.OktaSAMLAppList{}, &ssov1alpha1.SSOBindingList{}, &ssov1alpha1.AccountSyncList{}} {
			Expect(k8s.List(ctx, list, client.InNamespace(namespace))).To(Succeed())
		}
		// The discovery document carries the category and short names that
		// `kubectl get sso` and `kubectl get samlapp` use.
		dc, err := discovery.NewDiscoveryClientForConfig(testEnv.Config)
		Expect(err).NotTo(HaveOccurred())
		list, err := dc.ServerResourcesForGroupVersion(ssov1alpha1.GroupVersion.String())
		Expect(err).NotTo(HaveOccurred())
		resources := map[string]metav1.APIResource{}
		for _, r := range list.APIResources {
			resources[r.Name] = r
		}
		for name, short := range map[string]string{"oktasamlapps": "samlapp", "ssobindings": "ssob", "accountsyncs": "acctsync"} {
			Expect(resources[name].Categories).To(ConsistOf("sso"), name)
			Expect(resources[name].ShortNames).To(ConsistOf(short), name)
		}
	})
})

// mutation changes a valid object into an invalid one.
type mutation func(obj map[string]any)

// set puts value at a dotted path under the object.
func set(path string, value any) mutation {
	return func(obj map[string]any) {
		Expect(unstructured.SetNestedField(obj, toJSONValue(value), strings.Split(path, ".")...)).To(Succeed())
	}
}

// unset removes the field at a dotted path.
func unset(path string) mutation {
	return func(obj map[string]any) { unstructured.RemoveNestedField(obj, strings.Split(path, ".")...) }
}

// toJSONValue converts Go literals to the types unstructured objects hold.
func toJSONValue(v any) any {
	switch v := v.(type) {
	case int:
		return int64(v)
	case []any:
		out := make([]any, len(v))
		for i := range v {
			out[i] = toJSONValue(v[i])
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = toJSONValue(e)
		}
		return out
	}
	return v
}

// m is shorthand for a JSON object in the tables below.
type m = map[string]any

// l is shorthand for a JSON array in the tables below.
type l = []any

const (
	samlApp       = "sso_v1alpha1_oktasamlapp_backup.yaml"
	druvaApp      = "sso_v1alpha1_oktasamlapp_druva.yaml"
	catalogApp    = "sso_v1alpha1_oktasamlapp_org2org.yaml"
	binding       = "sso_v1alpha1_ssobinding_groups.yaml"
	authBinding   = "sso_v1alpha1_ssobinding_authoritative.yaml"
	accountSync   = "sso_v1alpha1_accountsync_provision.yaml"
	matchAccounts = "sso_v1alpha1_accountsync_match.yaml"
	hubIdP        = "sso_v1alpha1_oktasamlidentityprovider_hub.yaml"
	clusterOrg    = "sso_v1alpha1_clusteroktaorg.yaml"
	teamOrg       = "sso_v1alpha1_oktaorg.yaml"
)

// literalSpoke is a spoke written out instead of referenced.
var literalSpoke = m{"issuer": "http://www.okta.com/exk1spoke", "ssoURL": "https://spoke.example.com/app/okta_org2org/exk1spoke/sso/saml",
	"signingCertificate": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"}

var _ = DescribeTable("an invalid object is refused with a message that names the field",
	func(ctx context.Context, sample string, change mutation, field, message string) {
		obj := readSample(sample)
		change(obj.Object)
		_, err := createInTestNamespace(ctx, obj)
		Expect(err).To(HaveOccurred(), "the API server accepted it")
		Expect(err.Error()).To(ContainSubstring(field), "the message names the field")
		Expect(err.Error()).To(ContainSubstring(message))
	},
	// ClusterOktaOrg and OktaOrg
	Entry("an org with both credentials", clusterOrg, set("spec.credentials.oauth", m{"clientID": "0oa1", "privateKey": m{"name": "k", "key": "key.pem"}}), "spec.credentials", "exactly one of apiToken and oauth"),
	Entry("an org with no credential", teamOrg, unset("spec.credentials.oauth"), "spec.credentials", "exactly one of apiToken and oauth"),
	Entry("an org on plain http", clusterOrg, set("spec.url", "http://acme.okta.com"), "spec.url", "must be an absolute https URL"),
	Entry("a share of no capacity", clusterOrg, set("spec.maxAPICapacityPercent", 0), "spec.maxAPICapacityPercent", "greater than or equal to 1"),
	Entry("a log poll over an hour", teamOrg, set("spec.systemLogPollInterval", "2h"), "spec.systemLogPollInterval", "must be 0s (off) or from 1s to 1h"),
	Entry("a drift sweep more often than hourly", clusterOrg, set("spec.driftSweepInterval", "30m"), "spec.driftSweepInterval", "must be from 1h to 168h"),
	Entry("a drift sweep less often than weekly", teamOrg, set("spec.driftSweepInterval", "200h"), "spec.driftSweepInterval", "must be from 1h to 168h"),
	Entry("a tenant rule that selects no namespace", clusterOrg, set("spec.tenants", l{m{"labelPrefix": "x"}}), "spec.tenants[0]", "select namespaces with namespaces, namespaceRegexes or namespaceSelector"),
	Entry("a tenant weight of 0", clusterOrg, set("spec.tenants", l{m{"namespaces": l{"team-a"}, "weight": 0}}), "spec.tenants[0].weight", "greater than or equal to 1"),
	Entry("a tenant permission it does not know", clusterOrg, set("spec.tenants", l{m{"namespaces": l{"team-a"}, "adoption": "Sometimes"}}), "spec.tenants[0].adoption", "Unsupported value"),
	Entry("a client ID that is not one", teamOrg, set("spec.credentials.oauth.clientID", "0oa 1"), "spec.credentials.oauth.clientID", "should match"),
	// OktaSAMLApp
	Entry("no org named", samlApp, unset("spec.orgRef.secretName"), "spec.orgRef", "set either kind and name"),
	Entry("an org named both ways", samlApp, set("spec.orgRef.name", "company"), "spec.orgRef", "not both"),
	Entry("an org kind it does not know", samlApp, set("spec.orgRef", map[string]any{"kind": "Secret", "name": "okta"}), "spec.orgRef.kind", "Unsupported value"),
	Entry("org Secret name not a DNS name", samlApp, set("spec.orgRef.secretName", "Okta_Org"), "spec.orgRef.secretName", "should match"),
	Entry("empty label", samlApp, set("spec.label", ""), "spec.label", "at least 1 chars"),
	Entry("sign-on policy by both name and ID", samlApp, set("spec.signOn.authenticationPolicy", map[string]any{"name": "Strict", "id": "rst1a2b3c4d5e6f7g8h9"}),
		"spec.signOn.authenticationPolicy", "set exactly one of name and id"),
	Entry("sign-on policy by neither", samlApp, set("spec.signOn.authenticationPolicy", map[string]any{}), "spec.signOn.authenticationPolicy", "set exactly one of name and id"),
	Entry("sign-on policy ID of the wrong form", samlApp, set("spec.signOn.authenticationPolicy", map[string]any{"id": "rst-1"}),
		"spec.signOn.authenticationPolicy.id", "should match"),
	Entry("label over 100 characters", samlApp, set("spec.label", strings.Repeat("x", 101)), "spec.label", "may not be more than 100"),
	Entry("101 attribute statements", samlApp, set("spec.signOn.attributeStatements", manyAttributes(101)), "spec.signOn.attributeStatements", "must have at most 100 items"),
	Entry("an attribute value over 4,096 characters", samlApp, set("spec.signOn.attributeStatements", l{m{"name": "a", "values": l{strings.Repeat("v", 4097)}}}),
		"spec.signOn.attributeStatements[0].values[0]", "may not be more than 4096"),
	Entry("custom app without an SP", druvaApp, unset("spec.serviceProvider"), "spec.serviceProvider", "entityID and serviceProvider.acsURL are required"),
	Entry("custom app without an ACS URL", druvaApp, unset("spec.serviceProvider.acsURL"), "spec.serviceProvider", "acsURL are required"),
	Entry("ACS URL over plain http", samlApp, set("spec.serviceProvider.acsURL", "http://backup.example.com/saml/acs"), "spec.serviceProvider.acsURL", "must be an absolute https URL"),
	Entry("ACS URL not a URL", samlApp, set("spec.serviceProvider.acsURL", "backup portal"), "spec.serviceProvider.acsURL", "must be an absolute https URL"),
	Entry("single logout URL over plain http", samlApp, set("spec.serviceProvider.singleLogoutURL", "http://10.0.0.1/slo"), "spec.serviceProvider.singleLogoutURL", "must be an absolute https URL"),
	Entry("recipient with an ftp scheme", samlApp, set("spec.serviceProvider.recipient", "ftp://backup.example.com/acs"), "spec.serviceProvider.recipient", "must be an absolute https URL"),
	Entry("additional ACS indexes repeated", samlApp, set("spec.serviceProvider.additionalACSURLs", l{m{"index": 1, "url": "https://a.example.com/acs"}, m{"index": 1, "url": "https://b.example.com/acs"}}), "spec.serviceProvider.additionalACSURLs", "indexes must be unique"),
	Entry("additional ACS index 0, which is acsURL's", samlApp, set("spec.serviceProvider.additionalACSURLs", l{m{"index": 0, "url": "https://a.example.com/acs"}}), "spec.serviceProvider.additionalACSURLs[0].index", "greater than or equal to 1"),
	Entry("SP certificate both generated and referenced", samlApp, set("spec.serviceProvider.signingCertificate.secretRef", m{"name": "sp-tls"}), "spec.serviceProvider.signingCertificate", "exactly one of generate or secretRef"),
	Entry("SP certificate with neither source", samlApp, set("spec.serviceProvider.signingCertificate", m{}), "spec.serviceProvider.signingCertificate", "exactly one of generate or secretRef"),
	Entry("SP certificate renewed after it expires", samlApp, set("spec.serviceProvider.signingCertificate.generate", m{"validity": "720h", "renewBefore": "800h"}), "spec.serviceProvider.signingCertificate.generate.renewBefore", "shorter than validity"),
	Entry("signed requests without an SP certificate", samlApp, unset("spec.serviceProvider.signingCertificate"), "spec.signOn.requestSignatureRequired", "needs serviceProvider.signingCertificate"),
	Entry("an IdP reference on a custom app", samlApp, set("spec.serviceProvider.fromIdentityProviderRef", m{"name": "spoke-acme"}), "spec.serviceProvider.fromIdentityProviderRef", "applies to an Org2Org app"),
	// OktaSAMLIdentityProvider
	Entry("a hub IdP with both a spoke app and a spoke written out", hubIdP, set("spec.spoke", literalSpoke), "spec", "exactly one of spokeAppRef"),
	Entry("a hub IdP with no spoke", hubIdP, unset("spec.spokeAppRef"), "spec", "exactly one of spokeAppRef"),
	Entry("a username filter that does not compile", hubIdP, set("spec.usernameFilter", "^[a-z+@(example"), "spec.usernameFilter", "missing closing ]"),
	Entry("a spoke certificate that is not PEM", hubIdP, func(o map[string]any) {
		unset("spec.spokeAppRef")(o)
		set("spec.spoke", m{"issuer": "x", "ssoURL": "https://spoke.example.com/sso", "signingCertificate": "MIIB"})(o)
	}, "spec.spoke.signingCertificate", "must be a PEM certificate"),
	Entry("a spoke SSO URL over plain http", hubIdP, func(o map[string]any) {
		unset("spec.spokeAppRef")(o)
		set("spec.spoke", m{"issuer": "x", "ssoURL": "http://spoke.example.com/sso", "signingCertificate": "-----BEGIN CERTIFICATE-----"})(o)
	}, "spec.spoke.ssoURL", "must be an absolute https URL"),
	Entry("an unknown request binding", hubIdP, set("spec.requestBinding", "SOAP"), "spec.requestBinding", "Unsupported value"),
	Entry("an unknown request signature algorithm", hubIdP, set("spec.requestSignatureAlgorithm", "SHA-512"), "spec.requestSignatureAlgorithm", "Unsupported value"),
	Entry("an unknown response signature scope", hubIdP, set("spec.responseSignature", "None"), "spec.responseSignature", "Unsupported value"),
	Entry("an unknown ACS type", hubIdP, set("spec.acsType", "Shared"), "spec.acsType", "Unsupported value"),
	Entry("an unknown match attribute", hubIdP, set("spec.matchAgainst", "Login"), "spec.matchAgainst", "Unsupported value"),
	Entry("an unknown account link policy", hubIdP, set("spec.accountLink.policy", "Sometimes"), "spec.accountLink.policy", "Unsupported value"),
	Entry("an unknown no-match action", hubIdP, set("spec.provisioning.ifNoMatch", "Create"), "spec.provisioning.ifNoMatch", "Unsupported value"),
	Entry("a clock skew over an hour", hubIdP, set("spec.maxClockSkew", "2h"), "spec.maxClockSkew", "between 0s and 1h"),
	Entry("shared apps with the spoke written out", hubIdP, func(o map[string]any) {
		unset("spec.spokeAppRef")(o)
		set("spec.spoke", literalSpoke)(o)
	}, "spec.sharedApps", "sharedApps needs spokeAppRef"),
	Entry("a hub app shared twice", hubIdP, set("spec.sharedApps", l{m{"name": "wiki"}, m{"name": "wiki"}}), "spec.sharedApps[1]", "Duplicate value"),
	Entry("reactivation without profile source", hubIdP, set("spec.provisioning.reactivate", true), "spec.provisioning.reactivate", "needs provisioning.profileSource"),
	Entry("appSettings on a custom app", druvaApp, set("spec.appSettings", m{"baseUrl": "https://x.okta.com"}), "spec.appSettings", "only to a preconfigured"),
	Entry("provisioning on a custom app", druvaApp, set("spec.provisioning", m{"connection": m{"orgRef": m{"kind": "ClusterOktaOrg", "name": "hub"}}}),
		"spec.provisioning", "applies to an Org2Org app"),
	Entry("a provisioning connection naming both a hub org and a token", catalogApp, set("spec.provisioning", m{"connection": m{
		"orgRef": m{"kind": "ClusterOktaOrg", "name": "hub"}, "tokenSecretRef": m{"name": "hub-token", "key": "token"}}}),
		"spec.provisioning.connection", "exactly one of orgRef and tokenSecretRef"),
	Entry("a provisioning connection naming the hub by an org Secret", catalogApp, set("spec.provisioning", m{"connection": m{"orgRef": m{"secretName": "okta-hub"}}}),
		"spec.provisioning.connection.orgRef", "by kind and name"),
	Entry("an unknown removed-groups choice", catalogApp, set("spec.provisioning", m{"connection": m{"tokenSecretRef": m{"name": "hub-token", "key": "token"}}, "removedGroups": "Archive"}),
		"spec.provisioning.removedGroups", "Unsupported value"),
	Entry("an unknown password choice", catalogApp, set("spec.provisioning", m{"connection": m{"tokenSecretRef": m{"name": "hub-token", "key": "token"}}, "toApp": m{"password": "Plain"}}),
		"spec.provisioning.toApp.password", "Unsupported value"),
	Entry("the login as a pushed attribute", catalogApp, set("spec.provisioning", m{"connection": m{"tokenSecretRef": m{"name": "hub-token", "key": "token"}},
		"attributes": l{m{"name": "login", "expression": "user.email"}}}), "spec.provisioning.attributes[0].name", "username template"),
	Entry("catalog app name with spaces", catalogApp, set("spec.preconfigured", "Okta Org2Org"), "spec.preconfigured", "should match"),
	Entry("unknown NameID format", druvaApp, set("spec.signOn.nameIDFormat", "email"), "spec.signOn.nameIDFormat", "Unsupported value"),
	Entry("unknown signature algorithm", druvaApp, set("spec.signOn.signatureAlgorithm", "RSA_SHA512"), "spec.signOn.signatureAlgorithm", "Unsupported value"),
	Entry("unknown digest algorithm", druvaApp, set("spec.signOn.digestAlgorithm", "MD5"), "spec.signOn.digestAlgorithm", "Unsupported value"),
	Entry("neither response nor assertion signed", druvaApp, func(o map[string]any) {
		set("spec.signOn.responseSigned", false)(o)
		set("spec.signOn.assertionSigned", false)(o)
	}, "spec.signOn.responseSigned", "at least one of responseSigned or assertionSigned"),
	Entry("attribute with values and valueFrom", druvaApp, set("spec.signOn.attributeStatements", l{m{"name": "token", "values": l{"x"}, "valueFrom": m{"secretKeyRef": m{"name": "s", "key": "k"}}}}), "spec.signOn.attributeStatements[0]", "exactly one of values or valueFrom"),
	Entry("attribute with no value", druvaApp, set("spec.signOn.attributeStatements", l{m{"name": "token"}}), "spec.signOn.attributeStatements[0]", "exactly one of values or valueFrom"),
	Entry("attribute named twice", druvaApp, set("spec.signOn.attributeStatements", l{m{"name": "email", "values": l{"user.email"}}, m{"name": "email", "values": l{"user.login"}}}), "spec.signOn.attributeStatements[1]", "Duplicate value"),
	Entry("attribute Secret key with a space", druvaApp, set("spec.signOn.attributeStatements", l{m{"name": "t", "valueFrom": m{"secretKeyRef": m{"name": "s", "key": "to ken"}}}}), "spec.signOn.attributeStatements[0].valueFrom.secretKeyRef.key", "should match"),
	Entry("unknown attribute name format", druvaApp, set("spec.signOn.attributeStatements", l{m{"name": "e", "nameFormat": "URI", "values": l{"user.email"}}}), "spec.signOn.attributeStatements[0].nameFormat", "Unsupported value"),
	Entry("unknown group filter type", samlApp, set("spec.signOn.groupAttributeStatements", l{m{"name": "groups", "filterType": "PREFIX", "filterValue": "b"}}), "spec.signOn.groupAttributeStatements[0].filterType", "Unsupported value"),
	Entry("group filter without a value", samlApp, set("spec.signOn.groupAttributeStatements", l{m{"name": "groups", "filterType": "REGEX"}}), "spec.signOn.groupAttributeStatements[0].filterValue", "Required value"),
	Entry("signing key valid 1 year", samlApp, set("spec.signingKey.validityYears", 1), "spec.signingKey.validityYears", "greater than or equal to 2"),
	Entry("signing key valid 11 years", samlApp, set("spec.signingKey.validityYears", 11), "spec.signingKey.validityYears", "less than or equal to 10"),
	Entry("signing key rotated 1h before expiry", samlApp, set("spec.signingKey.rotateBefore", "1h"), "spec.signingKey.rotateBefore", "between 24h and 8760h"),
	Entry("signing key promoted after the old one expires", samlApp, set("spec.signingKey.promoteAfter", "800h"), "spec.signingKey.promoteAfter", "shorter than rotateBefore"),
	Entry("drift interval of 30s", samlApp, set("spec.interval", "30s"), "spec.interval", "between 1m and 24h"),
	Entry("drift interval in words", samlApp, set("spec.interval", "ten minutes"), "spec.interval", "should match"),
	Entry("unknown deletion policy", samlApp, set("spec.deletionPolicy", "Retain"), "spec.deletionPolicy", "Unsupported value"),
	Entry("connection Secret name not a DNS name", samlApp, set("spec.connectionSecret.name", "Backup_SSO"), "spec.connectionSecret.name", "should match"),
	// SSOBinding
	Entry("binding without an app", binding, unset("spec.appRef.name"), "spec.appRef.name", "Required value"),
	Entry("subject of an unknown kind", binding, set("spec.subjects", l{m{"kind": "Role", "name": "admins"}}), "spec.subjects[0].kind", "Unsupported value"),
	Entry("subject with an empty name", binding, set("spec.subjects", l{m{"kind": "Group", "name": ""}}), "spec.subjects[0].name", "at least 1 chars"),
	Entry("subject listed twice", binding, set("spec.subjects", l{m{"kind": "Group", "name": "Engineering"}, m{"kind": "Group", "name": "Engineering"}}), "spec.subjects[1]", "Duplicate value"),
	Entry("additive binding with no subjects", binding, set("spec.subjects", l{}), "spec.subjects", "needs at least one subject"),
	Entry("authoritative binding with no subjects (would remove everyone)", authBinding, set("spec.subjects", l{}), "spec.subjects", "set the OktaSAMLApp's spec.active to false"),
	Entry("binding with the subjects left out", binding, unset("spec.subjects"), "spec.subjects", "needs at least one subject"),
	Entry("unknown binding mode", authBinding, set("spec.mode", "Exclusive"), "spec.mode", "Unsupported value"),
	Entry("negative priority", binding, set("spec.priority", -1), "spec.priority", "greater than or equal to 0"),
	// AccountSync
	Entry("sync without a target", matchAccounts, unset("spec.target"), "spec.target", "Required value"),
	Entry("SCIM URL over plain http", matchAccounts, set("spec.target.scim.url", "http://backup.example.com/scim/v2"), "spec.target.scim.url", "must be an absolute https URL"),
	Entry("SCIM token key missing", matchAccounts, unset("spec.target.scim.authSecretRef.key"), "spec.target.scim.authSecretRef.key", "Required value"),
	Entry("unknown SCIM auth type", matchAccounts, set("spec.target.scim.authType", "OAuth"), "spec.target.scim.authType", "Unsupported value"),
	Entry("unknown sync mode", matchAccounts, set("spec.mode", "Mirror"), "spec.mode", "Unsupported value"),
	Entry("safeguard over 100 percent", accountSync, set("spec.safeguard.maxDeactivationPercent", 101), "spec.safeguard.maxDeactivationPercent", "less than or equal to 100"),
	Entry("negative safeguard", accountSync, set("spec.safeguard.maxDeactivationPercent", -1), "spec.safeguard.maxDeactivationPercent", "greater than or equal to 0"),
	Entry("sync every minute", matchAccounts, set("spec.interval", "1m"), "spec.interval", "between 5m and 720h"),
	Entry("unknown mapping apply mode", accountSync, set("spec.attributeMappings", l{m{"target": "title", "expression": "user.title", "apply": "Always"}}), "spec.attributeMappings[0].apply", "Unsupported value"),
	Entry("mapping target twice", accountSync, set("spec.attributeMappings", l{m{"target": "title", "expression": "user.title"}, m{"target": "title", "expression": "user.department"}}), "spec.attributeMappings[1]", "Duplicate value"),
	Entry("mapping without an expression", accountSync, set("spec.attributeMappings", l{m{"target": "title"}}), "spec.attributeMappings[0].expression", "Required value"),
)

var _ = DescribeTable("a valid edge case is accepted",
	func(ctx context.Context, sample string, change mutation) {
		obj := readSample(sample)
		change(obj.Object)
		_, err := createInTestNamespace(ctx, obj)
		Expect(err).NotTo(HaveOccurred())
	},
	Entry("plain http ACS URL on localhost (the local emulator)", samlApp, set("spec.serviceProvider.acsURL", "http://localhost:8080/saml/acs")),
	Entry("plain http ACS URL on 127.0.0.1", samlApp, set("spec.serviceProvider.acsURL", "http://127.0.0.1:8080/saml/acs")),
	Entry("plain http ACS URL on [::1]", samlApp, set("spec.serviceProvider.acsURL", "http://[::1]:8080/saml/acs")),
	Entry("audience that is not a URL", samlApp, set("spec.serviceProvider.entityID", "druva-cloud")),
	Entry("a sign-on policy by name", samlApp, set("spec.signOn.authenticationPolicy", map[string]any{"name": "Any two factors"})),
	Entry("a hub IdP with the spoke written out (and no tiles, which need the spoke app)", hubIdP, func(o map[string]any) {
		unset("spec.spokeAppRef")(o)
		unset("spec.sharedApps")(o)
		set("spec.spoke", literalSpoke)(o)
	}),
	Entry("a hub IdP with no username filter", hubIdP, unset("spec.usernameFilter")),
	Entry("assertion signed, response not", druvaApp, set("spec.signOn.responseSigned", false)),
	Entry("an SP certificate from a Secret", samlApp, set("spec.serviceProvider.signingCertificate", m{"secretRef": m{"name": "backup-sp-tls"}})),
	Entry("safeguard at 0 percent (any deactivation waits for a person)", accountSync, set("spec.safeguard.maxDeactivationPercent", 0)),
	Entry("sync interval of 30 days", matchAccounts, set("spec.interval", "720h")),
)

// manyAttributes is n attribute statements with distinct names.
func manyAttributes(n int) l {
	out := make(l, n)
	for i := range out {
		out[i] = m{"name": fmt.Sprintf("attr%03d", i), "values": l{"user.email"}}
	}
	return out
}
