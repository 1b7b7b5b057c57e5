package controller_test

import (
	"context"
	"encoding/base64"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
	"github.com/oktaop/okta-sso-operator/internal/keys"
)

var _ = Describe("Every spec field", func() {
	It("reaches Okta's app model and comes back unchanged", func() {
		ctx := context.Background()
		ensureSecrets(ctx, watchedNS)
		app := newApp(watchedNS)
		app.Spec.ServiceProvider = &ssov1.ServiceProvider{
			EntityID: "https://backup.example.com/saml/metadata", ACSURL: "https://backup.example.com/saml/acs",
			AdditionalACSURLs: []ssov1.ACSEndpoint{{Index: 1, URL: "https://backup-eu.example.com/saml/acs"}},
			Recipient:         "https://backup.example.com/saml/recipient", Destination: "https://backup.example.com/saml/destination",
			SingleLogoutURL: "https://backup.example.com/saml/slo",
			SigningCertificate: &ssov1.SigningCertificate{Generate: &ssov1.GenerateCertificate{
				Validity: metav1.Duration{Duration: 8760 * time.Hour}, RenewBefore: metav1.Duration{Duration: 720 * time.Hour}}},
		}
		app.Spec.SignOn = ssov1.SignOn{
			NameIDFormat: ssov1.NameIDFormatPersistent, UsernameTemplate: "${user.email}",
			ResponseSigned: ptr.To(true), AssertionSigned: ptr.To(false), SignatureAlgorithm: "RSA_SHA1", DigestAlgorithm: "SHA1",
			HonorForceAuthn: ptr.To(false), AuthnContextClassRef: "urn:oasis:names:tc:SAML:2.0:ac:classes:X509",
			RequestSignatureRequired: true,
			AttributeStatements: []ssov1.AttributeStatement{{Name: "email", NameFormat: "Basic", Values: []string{"user.email"}},
				{Name: "insync_auth_token", ValueFrom: &ssov1.AttributeValueSource{SecretKeyRef: ssov1.SecretKeySelector{Name: "druva-sso-token", Key: "token"}}}},
			GroupAttributeStatements: []ssov1.GroupAttributeStatement{{Name: "groups", NameFormat: "URIReference", FilterType: "REGEX", FilterValue: "backup-.*"}},
		}
		app.Spec.IDPInitiated = ssov1.IDPInitiated{Enabled: ptr.To(true), DefaultRelayState: "https://backup.example.com/dashboard"}
		app.Spec.Visibility = ssov1.Visibility{HideOnDashboard: true}
		Expect(k8s.Create(ctx, app)).To(Succeed())
		Eventually(func() string { return readyReason(ctx, app) }, "30s").Should(Equal(ready))

		got, err := oktaAPI.GetApp(ctx, get(ctx, app).Status.AppID)
		Expect(err).NotTo(HaveOccurred())
		so := got.Settings.SignOn
		Expect(got.Label).To(Equal(app.Spec.Label))
		Expect(got.Visibility.Hide.Web && got.Visibility.Hide.IOS).To(BeTrue())
		Expect(got.Credentials.UserNameTemplate.Template).To(Equal("${user.email}"))
		Expect(so.Audience).To(Equal("https://backup.example.com/saml/metadata"))
		Expect(so.SSOAcsURL).To(Equal("https://backup.example.com/saml/acs"))
		Expect(so.AllowMultipleAcsEndpoints).To(BeTrue())
		Expect(so.AcsEndpoints).To(HaveLen(2))
		Expect(so.AcsEndpoints[1].URL).To(Equal("https://backup-eu.example.com/saml/acs"))
		Expect(so.Recipient).To(Equal("https://backup.example.com/saml/recipient"))
		Expect(so.Destination).To(Equal("https://backup.example.com/saml/destination"))
		Expect(so.SLO.Enabled).To(BeTrue())
		Expect(so.SLO.LogoutURL).To(Equal("https://backup.example.com/saml/slo"))
		Expect(so.SubjectNameIDFormat).To(Equal("urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"))
		Expect(so.SubjectNameIDTemplate).To(Equal("${user.email}"))
		Expect(so.ResponseSigned).To(BeTrue())
		Expect(so.AssertionSigned).To(BeFalse())
		Expect(so.SignatureAlgorithm).To(Equal("RSA_SHA1"))
		Expect(so.DigestAlgorithm).To(Equal("SHA1"))
		Expect(so.HonorForceAuthn).To(BeFalse())
		Expect(so.AuthnContextClassRef).To(Equal("urn:oasis:names:tc:SAML:2.0:ac:classes:X509"))
		Expect(so.DefaultRelayState).To(Equal("https://backup.example.com/dashboard"))
		Expect(so.SAMLSignedRequestEnabled).To(BeTrue())
		Expect(so.AttributeStatements).To(HaveLen(3))
		Expect(so.AttributeStatements[0].Namespace).To(Equal("urn:oasis:names:tc:SAML:2.0:attrname-format:basic"))
		Expect(so.AttributeStatements[2].FilterType).To(Equal("REGEX"))
		Expect(so.AttributeStatements[2].Namespace).To(Equal("urn:oasis:names:tc:SAML:2.0:attrname-format:uri"))

		secret := &corev1.Secret{}
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: watchedNS, Name: app.Name + "-saml"}, secret)).To(Succeed())
		originalPEM := string(secret.Data["tls.crt"])
		cert, err := keys.ParseCertificatePEM(secret.Data["tls.crt"])
		Expect(err).NotTo(HaveOccurred())
		Expect(so.SPCertificate.X5c[0]).To(Equal(base64.StdEncoding.EncodeToString(cert.Raw)), "the SP certificate in Okta is the Secret's")
		Expect(string(secret.Data["sp-metadata.xml"])).To(And(ContainSubstring(`AuthnRequestsSigned="true"`),
			ContainSubstring("backup-eu.example.com"), ContainSubstring("SingleLogoutService")))

		By("a check finds nothing to put back: what came back is what was sent")
		before := org.Stats().Routes["PUT /api/v1/apps/{appID}"]
		token := requestReconcile(ctx, app)
		Eventually(handled(ctx, app), "30s").Should(Equal(token))
		Expect(org.Stats().Routes["PUT /api/v1/apps/{appID}"]).To(Equal(before))

		By("the SP certificate is renewed renewBefore its expiry, in Okta too")
		clock.Advance(8760*time.Hour - 700*time.Hour)
		requestReconcile(ctx, app)
		Eventually(func() string {
			Expect(k8s.Get(ctx, client.ObjectKeyFromObject(secret), secret)).To(Succeed())
			return string(secret.Data["tls.crt"])
		}, "30s").ShouldNot(Equal(originalPEM))
		renewed, _ := keys.ParseCertificatePEM(secret.Data["tls.crt"])
		Eventually(func() string {
			a, _ := oktaAPI.GetApp(ctx, got.ID)
			return a.Settings.SignOn.SPCertificate.X5c[0]
		}, "30s").Should(Equal(base64.StdEncoding.EncodeToString(renewed.Raw)))
		Eventually(func() []string { return recorder.eventsFor(watchedNS, app.Name) }).Should(ContainElement(ContainSubstring("SPCertificateIssued")))
	})

	It("takes the SP key pair from a referenced Secret", func() {
		ctx := context.Background()
		ensureSecrets(ctx, watchedNS)
		certPEM, keyPEM, err := keys.SelfSigned("sp", 2048, clock.Now(), 24*time.Hour*365)
		Expect(err).NotTo(HaveOccurred())
		Expect(k8s.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: watchedNS, Name: "sp-tls-" + newApp(watchedNS).Name},
			Type: corev1.SecretTypeTLS, Data: map[string][]byte{"tls.crt": certPEM, "tls.key": keyPEM}})).To(Succeed())
		var tlsSecrets corev1.SecretList
		Expect(k8s.List(ctx, &tlsSecrets, client.InNamespace(watchedNS))).To(Succeed())
		name := ""
		for _, s := range tlsSecrets.Items {
			if s.Type == corev1.SecretTypeTLS && string(s.Data["tls.crt"]) == string(certPEM) {
				name = s.Name
			}
		}
		app := newApp(watchedNS)
		app.Spec.ServiceProvider.SigningCertificate = &ssov1.SigningCertificate{SecretRef: &ssov1.LocalObjectReference{Name: ssov1.ResourceName(name)}}
		Expect(k8s.Create(ctx, app)).To(Succeed())
		Eventually(func() string { return readyReason(ctx, app) }, "30s").Should(Equal(ready))
		secret := &corev1.Secret{}
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: watchedNS, Name: app.Name + "-saml"}, secret)).To(Succeed())
		Expect(secret.Data["tls.crt"]).To(Equal(certPEM))
	})
})
