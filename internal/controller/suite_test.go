package controller_test

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
	"github.com/oktaop/okta-sso-operator/internal/controller"
	"github.com/oktaop/okta-sso-operator/internal/okta"
	oktaorg "github.com/oktaop/okta-sso-operator/internal/org"
	"github.com/oktaop/okta-sso-operator/pkg/emulator"
)

// The controller suite: one kube-apiserver, one manager running the
// reconcilers in the watched namespace, and a local Okta org on loopback.
// Both the org and the reconciler read the same controllable clock, so key
// rotation can be driven years ahead without waiting.

const (
	apiToken      = "00SuiteTokenThatMustNeverAppear-7f3a"
	secretToken   = "A-16620-5232-jbzFc96F3EhGyG+uh2c+kDj+QgVQuS2keB8DD/LtwVs="
	userPassword  = "correct-horse-battery"
	watchedNS     = "sso-suite"
	unwatchedNS   = "sso-direct"
	orgSecretName = "okta-org"
	// clusterID names the suite's cluster in owner notes.
	clusterID = "suite-cluster-1"
	// operatorNS holds ClusterOktaOrgs' credential Secrets.
	operatorNS = "sso-operator"
)

var (
	testEnv *envtest.Environment
	cfg     *rest.Config
	k8s     client.Client
	scheme  = runtime.NewScheme()
	org     *emulator.Server
	orgURL  string
	oktaAPI *okta.Client
	clock   = &testClock{t: time.Now().UTC()}
	logs    = &syncBuffer{}
	// follower is the manager's System Log follower (the event hook feeds it).
	follower *controller.LogFollower
	drift    *controller.DriftWatch
	stopMgr  context.CancelFunc
	recorder *capturingRecorder
	// loopbackEgress lets the suite's org and SCIM targets, all on
	// loopback, be reached (the manager's --allow-loopback-targets).
	loopbackEgress = &oktaorg.Egress{AllowLoopback: true}
)

// testClock is the suite's controllable time.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// syncBuffer collects the manager's logs so tests can check what was written.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, _ = GinkgoWriter.Write(p)
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestControllers(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Controller suite")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(logs), zap.UseDevMode(true)))

	testEnv = &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join("..", "..", "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
	}
	var err error
	cfg, err = testEnv.Start()
	Expect(err).NotTo(HaveOccurred())
	Expect(clientgoscheme.AddToScheme(scheme)).To(Succeed())
	Expect(ssov1.AddToScheme(scheme)).To(Succeed())
	k8s, err = client.New(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
	for _, ns := range []string{watchedNS, unwatchedNS, operatorNS} {
		Expect(k8s.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
	}

	org, err = emulator.New(emulator.Config{APIToken: apiToken, OrgName: "acme", Now: clock.Now, RateLimits: generousLimits, Seed: &emulator.Seed{
		Groups: []emulator.SeedGroup{{Name: "Engineering"}},
		Users: []emulator.SeedUser{{Login: "alice@example.com", FirstName: "Alice", LastName: "Smith",
			Password: userPassword, Groups: []string{"Engineering"}}},
	}})
	Expect(err).NotTo(HaveOccurred())
	ts := httptest.NewServer(answerWrongly(shapeAppUserListing(org.Handler())))
	DeferCleanup(ts.Close)
	org.SetBaseURL(ts.URL)
	orgURL = ts.URL
	oktaAPI, err = okta.New(okta.Config{OrgURL: orgURL, APIToken: apiToken, Budget: okta.NewBudget(100, clock.Now), Now: clock.Now,
		Transport: suiteReader{http.DefaultTransport}})
	Expect(err).NotTo(HaveOccurred())

	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:  scheme,
		Metrics: metricsserver.Options{BindAddress: "0"},
		Client:  controller.ClientOptions(),
		Cache:   controller.CacheOptions(map[string]cache.Config{watchedNS: {}, operatorNS: {}}),
	})
	Expect(err).NotTo(HaveOccurred())
	recorder = newCapturingRecorder(mgr.GetEventRecorderFor("okta-sso-operator"))
	orgs := &controller.SecretOrgs{Egress: loopbackEgress, Reader: mgr.GetClient(), ClusterResourceNamespace: operatorNS, Now: clock.Now, Configure: fastRetries}
	drift = controller.NewDriftWatch()
	Expect((&controller.OktaSAMLAppReconciler{
		Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Recorder: recorder, Now: clock.Now, Orgs: orgs, Cluster: &controller.ClusterID{Name: clusterID}, Drift: drift,
	}).SetupWithManager(mgr)).To(Succeed())
	Expect((&controller.SSOBindingReconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Recorder: recorder, Now: clock.Now, Orgs: orgs, Drift: drift}).SetupWithManager(mgr)).To(Succeed())
	follow := controller.NewFollowQueue()
	Expect((&controller.AccountSyncReconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Recorder: recorder, Now: clock.Now, Orgs: orgs, Follow: follow}).SetupWithManager(mgr)).To(Succeed())
	// The follower schedules its polls in real time; the org's events and
	// the syncs' cursors are on the suite's clock.
	follower = &controller.LogFollower{Reader: mgr.GetClient(), Orgs: orgs, Queue: follow, Drift: drift, EventClock: clock.Now, GapAfter: 3 * time.Second}
	Expect(mgr.Add(follower)).To(Succeed())
	Expect((&controller.OktaSAMLIdentityProviderReconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Recorder: recorder, Now: clock.Now, Orgs: orgs, Cluster: &controller.ClusterID{Name: clusterID}, Drift: drift}).SetupWithManager(mgr)).To(Succeed())

	Expect((&controller.OrgStatusReconciler{Client: mgr.GetClient(), Recorder: recorder, Now: clock.Now, Orgs: orgs, Follower: follower}).SetupWithManager(mgr)).To(Succeed())

	ctx, cancel := context.WithCancel(context.Background())
	stopMgr = cancel
	go func() {
		defer GinkgoRecover()
		Expect(mgr.Start(ctx)).To(Succeed())
	}()
})

var _ = AfterSuite(func() {
	if stopMgr != nil {
		stopMgr()
	}
	if testEnv != nil {
		Expect(testEnv.Stop()).To(Succeed())
	}
})

// appUserPaging shapes the org's listing of an app's users for a test:
// pages of two instead of the client's 500, so three users take two pages,
// and the pages after the first failing, so a listing can fail part way.
var appUserPaging struct{ small, failLater atomic.Bool }

// wrongAnswer, when set, makes the org answer one route wrongly, as a
// broken proxy or gateway in front of Okta would: to the manager only, not
// to the specs' own client (oktaAPI), which checks what Okta holds.
var wrongAnswer atomic.Pointer[wrongAnswerRule]

type wrongAnswerRule struct {
	method string
	path   *regexp.Regexp
	status int
	body   string
}

const suiteReaderHeader = "X-Suite-Reader"

// suiteReader marks the specs' own requests.
type suiteReader struct{ next http.RoundTripper }

func (s suiteReader) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set(suiteReaderHeader, "true")
	return s.next.RoundTrip(r)
}

func answerWrongly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rule := wrongAnswer.Load(); rule != nil && r.Header.Get(suiteReaderHeader) == "" && r.Method == rule.method && rule.path.MatchString(r.URL.Path) {
			w.Header().Set("Content-Type", "application/json")
			if strings.HasPrefix(rule.body, "<") {
				w.Header().Set("Content-Type", "text/html")
			}
			w.WriteHeader(rule.status)
			_, _ = w.Write([]byte(rule.body))
			return
		}
		next.ServeHTTP(w, r)
	})
}

var appUsersPath = regexp.MustCompile(`^/api/v1/apps/[^/]+/users$`)

func shapeAppUserListing(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && appUsersPath.MatchString(r.URL.Path) {
			q := r.URL.Query()
			if appUserPaging.failLater.Load() && q.Get("after") != "" {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusInternalServerError)
				_, _ = w.Write([]byte(`{"errorCode":"E0000009","errorSummary":"Internal Server Error","errorCauses":[]}`))
				return
			}
			if appUserPaging.small.Load() {
				q.Set("limit", "2")
				r.URL.RawQuery = q.Encode()
			}
		}
		next.ServeHTTP(w, r)
	})
}

// generousLimits keep the suite's shared rate-limit windows (the clock only
// moves when a test moves it) out of the way; the scale test sets its own.
// They cover every bucket the operator uses: a real limit left in place
// (the System Log's 120, polled every second while follow specs' syncs
// exist) would run out within two minutes and stay spent.
var generousLimits = emulator.UnlimitedRateLimits()

// fastRetries keeps failure tests quick; the budget still applies. Every
// client's requests are counted by path (requestsTo).
func fastRetries(c *okta.Config) {
	c.RetryBaseDelay = time.Millisecond
	c.Transport = countedTransport.dialing(c.Dial)
}

// countedTransport counts the operator's requests by "METHOD /path", so a
// spec can count the calls about one object while other specs' objects
// live on.
var countedTransport = &pathCounter{next: http.DefaultTransport, requestCounts: &requestCounts{counts: map[string]int{}}}

type pathCounter struct {
	next http.RoundTripper
	*requestCounts
}

type requestCounts struct {
	mu     sync.Mutex
	counts map[string]int
	// sent is every request as "METHOD path?query", in order, so a spec
	// can pick out the requests about its own objects.
	sent []string
}

// requestsSent is the log of requests from the mark on, and the next mark.
func requestsSent(mark int) ([]string, int) {
	countedTransport.mu.Lock()
	defer countedTransport.mu.Unlock()
	return slices.Clone(countedTransport.sent[mark:]), len(countedTransport.sent)
}

// dialing is the counter over a transport that connects through dial (the
// egress check of a namespace's org), counting into the same counts.
func (p *pathCounter) dialing(dial func(context.Context, string, string) (net.Conn, error)) *pathCounter {
	if dial == nil {
		return p
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = dial
	return &pathCounter{next: t, requestCounts: p.requestCounts}
}

func (p *pathCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	p.mu.Lock()
	p.counts[r.Method+" "+r.URL.Path]++
	p.sent = append(p.sent, r.Method+" "+r.URL.RequestURI())
	p.mu.Unlock()
	return p.next.RoundTrip(r)
}

// requestsTo is how many requests the operator has sent to "METHOD /path".
func requestsTo(methodAndPath string) int {
	countedTransport.mu.Lock()
	defer countedTransport.mu.Unlock()
	return countedTransport.counts[methodAndPath]
}
