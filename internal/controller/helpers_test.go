package controller_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/tools/record"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
	"github.com/oktaop/okta-sso-operator/internal/controller"
	"github.com/oktaop/okta-sso-operator/internal/okta"
)

// capturingRecorder keeps every event it passes on, for assertions.
type capturingRecorder struct {
	record.EventRecorder
	mu     sync.Mutex
	events []string // "namespace/name Type Reason: message"
}

func newCapturingRecorder(r record.EventRecorder) *capturingRecorder {
	return &capturingRecorder{EventRecorder: r}
}

func (c *capturingRecorder) Event(obj runtime.Object, eventType, reason, message string) {
	c.mu.Lock()
	if m, ok := obj.(metav1.Object); ok {
		c.events = append(c.events, fmt.Sprintf("%s/%s %s %s: %s", m.GetNamespace(), m.GetName(), eventType, reason, message))
	}
	c.mu.Unlock()
	c.EventRecorder.Event(obj, eventType, reason, message)
}

func (c *capturingRecorder) Eventf(obj runtime.Object, eventType, reason, format string, args ...any) {
	c.Event(obj, eventType, reason, fmt.Sprintf(format, args...))
}

// eventsFor lists the reasons of the events of one object.
func (c *capturingRecorder) eventsFor(namespace, name string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, e := range c.events {
		if strings.HasPrefix(e, namespace+"/"+name+" ") {
			out = append(out, e)
		}
	}
	return out
}

func (c *capturingRecorder) all() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.events, "\n")
}

// orgSecret is an org Secret for the suite's local Okta org.
func orgSecret(namespace, name, token string) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		// The org-level deactivation safeguard counts every AccountSync of
		// the org; the suite's specs share this org, so it is left open here
		// and tested on an org of its own.
		// The System Log is followed only where a spec turns it on.
		StringData: map[string]string{"orgURL": orgURL, "apiToken": token, "maxAPICapacityPercent": "100", "maxOrgDeactivationPercent": "100",
			"systemLogPollInterval": "0"},
	}
}

// newApp is a vendor-style app: plain-string audience, email NameID, signed
// response, and a secret token attribute read from a Secret.
func newApp(namespace string) *ssov1.OktaSAMLApp {
	name := "druva-" + rand.String(5)
	return &ssov1.OktaSAMLApp{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: ssov1.OktaSAMLAppSpec{
			OrgRef: ssov1.OrgReference{SecretName: orgSecretName},
			Label:  "Druva " + name,
			ServiceProvider: &ssov1.ServiceProvider{
				EntityID: "druva-cloud-" + name, ACSURL: "http://127.0.0.1:1/wrsaml/consume",
			},
			SignOn: ssov1.SignOn{
				NameIDFormat: ssov1.NameIDFormatEmailAddress, UsernameTemplate: "${user.email}",
				AttributeStatements: []ssov1.AttributeStatement{{
					Name:      "insync_auth_token",
					ValueFrom: &ssov1.AttributeValueSource{SecretKeyRef: ssov1.SecretKeySelector{Name: "druva-sso-token", Key: "token"}},
				}},
			},
			ConnectionSecret: ssov1.ConnectionSecret{
				Labels:      map[string]string{"app.kubernetes.io/name": "druva"},
				Annotations: map[string]string{"reloader.example.com/match": "true"},
			},
		},
	}
}

// ensureSecrets creates the org Secret and the token Secret once per namespace.
func ensureSecrets(ctx context.Context, namespace string) {
	for _, s := range []*corev1.Secret{
		orgSecret(namespace, orgSecretName, apiToken),
		{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "druva-sso-token"}, StringData: map[string]string{"token": secretToken}},
	} {
		if err := k8s.Create(ctx, s); err != nil {
			Expect(client.IgnoreAlreadyExists(err)).To(Succeed())
		}
	}
}

func get(ctx context.Context, app *ssov1.OktaSAMLApp) *ssov1.OktaSAMLApp {
	out := &ssov1.OktaSAMLApp{}
	Expect(k8s.Get(ctx, client.ObjectKeyFromObject(app), out)).To(Succeed())
	return out
}

// readyReason returns the Ready condition's status and reason.
func readyReason(ctx context.Context, app *ssov1.OktaSAMLApp) string {
	out := &ssov1.OktaSAMLApp{}
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(app), out); err != nil {
		return err.Error()
	}
	return conditionState(out.Status.Conditions, ssov1.ReadyCondition)
}

// conditionState is a condition as "Status/Reason", or "none".
func conditionState(conditions []metav1.Condition, condType string) string {
	c := meta.FindStatusCondition(conditions, condType)
	if c == nil {
		return "none"
	}
	return string(c.Status) + "/" + c.Reason
}

// requestReconcile sets the manual trigger annotation and returns its value.
func requestReconcile(ctx context.Context, app *ssov1.OktaSAMLApp) string {
	token := rand.String(8)
	current := get(ctx, app)
	patch := client.MergeFrom(current.DeepCopy())
	if current.Annotations == nil {
		current.Annotations = map[string]string{}
	}
	current.Annotations[ssov1.ReconcileRequestAnnotation] = token
	Expect(k8s.Patch(ctx, current, patch)).To(Succeed())
	return token
}

func handled(ctx context.Context, app *ssov1.OktaSAMLApp) func() string {
	return func() string { return get(ctx, app).Status.LastHandledReconcileAt }
}

func update(ctx context.Context, app *ssov1.OktaSAMLApp, change func(*ssov1.OktaSAMLApp)) {
	Eventually(func() error {
		current := get(ctx, app)
		change(current)
		return k8s.Update(ctx, current)
	}).Should(Succeed())
}

// failFirstAppIDPatch is a client whose first write of the app-id annotation
// fails, as if the operator crashed right after creating the app in Okta.
func failFirstAppIDPatch(_ client.Client) client.Client {
	ww, err := client.NewWithWatch(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
	var once sync.Once
	return interceptor.NewClient(ww, interceptor.Funcs{
		Patch: func(ctx context.Context, c client.WithWatch, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
			injected := false
			if obj.GetAnnotations()[ssov1.AppIDAnnotation] != "" {
				once.Do(func() { injected = true })
			}
			if injected {
				return errors.New("injected failure writing the app ID")
			}
			return c.Patch(ctx, obj, patch, opts...)
		},
	})
}

// countingTransport counts the Okta requests one reconciler sends.
type countingTransport struct {
	mu     sync.Mutex
	routes map[string]int
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	if c.routes == nil {
		c.routes = map[string]int{}
	}
	c.routes[r.Method+" "+oktaIDs.ReplaceAllString(r.URL.Path, "{id}")]++
	c.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

func (c *countingTransport) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, v := range c.routes {
		n += v
	}
	return n
}

func (c *countingTransport) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.routes = map[string]int{}
}

var oktaIDs = regexp.MustCompile(`(?:0oa|rst)[A-Za-z0-9]{17}`)

// countingReconciler reconciles on the test's call in the unwatched
// namespace, where the manager never interferes, and counts its Okta calls.
func countingReconciler() (*controller.OktaSAMLAppReconciler, *countingTransport) {
	counter := &countingTransport{}
	r := &controller.OktaSAMLAppReconciler{Client: k8s, Recorder: recorder, Now: clock.Now, Cluster: &controller.ClusterID{Name: clusterID},
		Orgs: &controller.SecretOrgs{Egress: loopbackEgress, Reader: k8s, Now: clock.Now, Configure: func(c *okta.Config) {
			fastRetries(c)
			c.Transport = counter
		}}}
	return r, counter
}
