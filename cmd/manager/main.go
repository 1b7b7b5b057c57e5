// Command manager runs the okta-sso-operator controllers.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	goruntime "runtime"
	"strings"
	"sync"
	"time"

	toolscache "k8s.io/client-go/tools/cache"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap/zapcore"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	ssov1alpha1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
	"github.com/oktaop/okta-sso-operator/internal/controller"
	oktaorg "github.com/oktaop/okta-sso-operator/internal/org"
)

// version is stamped at build time (-ldflags "-X main.version=..."; make
// build and the image do it from the chart's appVersion and git).
var version = "dev"

// buildInfo serves the version as a label, so a dashboard or an alert can
// tell which build runs where.
var buildInfo = prometheus.NewGaugeVec(prometheus.GaugeOpts{
	Name: "okta_sso_operator_build_info",
	Help: "Always 1; the labels say which build of the manager runs.",
}, []string{"version", "go_version"})

type options struct {
	printVersion    bool
	shutdownTimeout time.Duration
	metricsAddr     string
	metricsSecure   bool
	probeAddr       string
	pprofAddr       string
	leaderElect     bool
	leaderElectNS   string
	watchNamespace  string
	logLevel        string
	logFormat       string
	appConcurrency  int
	appWorkers      int
	clusterID       string
	clusterNS       string
	eventHook       eventHookOptions
	allowLoopback   bool
	clusterCIDRs    string
	syncWorkers     int
	bindingWorkers  int
	idpWorkers      int
	perNamespace    int
}

// eventHookOptions configure the optional Okta Event Hook endpoint.
type eventHookOptions struct {
	addr, header, secretFile, certFile, keyFile string
}

func main() {
	var o options
	flag.StringVar(&o.metricsAddr, "metrics-bind-address", ":8080", "Address the Prometheus metrics endpoint binds to; 0 disables it.")
	flag.BoolVar(&o.metricsSecure, "metrics-secure", false, "Serve metrics over HTTPS, to callers the API server authenticates and authorizes (get on the /metrics non-resource URL): the chart's default.")
	flag.StringVar(&o.probeAddr, "health-probe-bind-address", ":8081", "Address the /healthz and /readyz probes bind to.")
	flag.StringVar(&o.pprofAddr, "pprof-bind-address", "0", "Address Go's pprof profiles are served on (heap, CPU) for a memory or CPU investigation; 0, the default, disables them.")
	flag.BoolVar(&o.leaderElect, "leader-elect", false, "Elect a leader so that only one replica reconciles at a time.")
	flag.StringVar(&o.leaderElectNS, "leader-election-namespace", "", "Namespace of the leader election Lease; defaults to the pod's namespace.")
	flag.StringVar(&o.watchNamespace, "watch-namespaces", "", "Comma-separated namespaces to watch; empty watches all namespaces.")
	flag.StringVar(&o.logLevel, "log-level", "info", "Log level: debug, info or error.")
	flag.StringVar(&o.logFormat, "log-format", "json", "Log format: json or text.")
	flag.DurationVar(&o.shutdownTimeout, "graceful-shutdown-timeout", 25*time.Second,
		"How long running reconciles may take to finish after SIGTERM; the manager exits by then whatever its state. Keep it under the pod's terminationGracePeriodSeconds.")
	flag.BoolVar(&o.printVersion, "version", false, "Print the version and exit.")
	flag.IntVar(&o.appConcurrency, "app-concurrency", 4, "OktaSAMLApps of one Okta org reconciled at once (1 to 64); each has at most one Okta request in flight, so this bounds the operator's part of the org's concurrent-request limit.")
	flag.StringVar(&o.eventHook.addr, "event-hook-bind-address", "0", "Address Okta's Event Hooks call, at /okta/event-hooks/<org host>, for AccountSyncs to act on a change in seconds; 0, the default, leaves it off (the System Log is followed either way).")
	flag.StringVar(&o.eventHook.header, "event-hook-header", "Authorization", "The header Okta's event hook sends its secret in.")
	flag.StringVar(&o.eventHook.secretFile, "event-hook-secret-file", "", "File holding the event hook's secret (a mounted Secret); needed with --event-hook-bind-address.")
	flag.StringVar(&o.eventHook.certFile, "event-hook-tls-cert-file", "", "Serve the event hook over HTTPS with this certificate; without it, plain HTTP for an Ingress that terminates TLS.")
	flag.StringVar(&o.eventHook.keyFile, "event-hook-tls-key-file", "", "The private key of --event-hook-tls-cert-file.")
	flag.IntVar(&o.appWorkers, "app-workers", 16, "OktaSAMLApps reconciled at once, all orgs together (1 to 256): each org has its own lane of --app-concurrency of them, so a slow org never holds up another.")
	flag.StringVar(&o.clusterID, "cluster-id", "", "Names this cluster in the owner notes the operator writes on the Okta apps it owns, so an app another cluster's operator manages is never taken for this one's; defaults to the kube-system namespace's UID.")
	flag.StringVar(&o.clusterNS, "cluster-resource-namespace", "", "Namespace of the credential Secrets ClusterOktaOrgs name; defaults to the pod's namespace. Keep it to the platform team: whoever reads Secrets there holds the orgs' credentials.")
	flag.IntVar(&o.syncWorkers, "accountsync-workers", 4, "AccountSyncs run at once, all namespaces together (1 to 256).")
	flag.IntVar(&o.bindingWorkers, "binding-workers", 4, "OktaSAMLApps whose SSOBindings are applied at once, all namespaces together (1 to 256).")
	flag.IntVar(&o.idpWorkers, "identity-provider-workers", 2, "OktaSAMLIdentityProviders reconciled at once, all namespaces together (1 to 256).")
	flag.IntVar(&o.perNamespace, "namespace-concurrency", 1, "AccountSyncs, SSOBindings and identity providers of one namespace reconciled at once, each kind (1 to 64): a team whose service provider hangs holds this many workers, never all of them.")
	flag.BoolVar(&o.allowLoopback, "allow-loopback-targets", false, "Let URLs chosen in namespaces (SCIM targets, an OktaOrg's URL) reach the manager's own host. For development and tests only: in a cluster it opens the pod's loopback to every team.")
	flag.StringVar(&o.clusterCIDRs, "cluster-cidrs", "auto", "The cluster's pod and service ranges, comma-separated, refused to URLs chosen in namespaces unless a ClusterOktaOrg allows them; auto (alone or among ranges) reads each Node's podCIDRs and the ServiceCIDRs every 10 minutes.")
	flag.Parse()
	if o.printVersion {
		fmt.Println("okta-sso-operator", version)
		return
	}

	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "manager:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	logger, err := newLogger(o.logLevel, o.logFormat)
	if err != nil {
		return err
	}
	if o.appConcurrency < 1 || o.appConcurrency > 64 {
		return fmt.Errorf("--app-concurrency must be from 1 to 64, not %d", o.appConcurrency)
	}
	for name, n := range map[string]int{"--app-workers": o.appWorkers, "--accountsync-workers": o.syncWorkers, "--binding-workers": o.bindingWorkers, "--identity-provider-workers": o.idpWorkers} {
		if n < 1 || n > 256 {
			return fmt.Errorf("%s must be from 1 to 256, not %d", name, n)
		}
	}
	if o.perNamespace < 1 || o.perNamespace > 64 {
		return fmt.Errorf("--namespace-concurrency must be from 1 to 64, not %d", o.perNamespace)
	}
	ctrl.SetLogger(logger)
	// client-go (informers, leader election) logs through klog: the same
	// structured log, so a list that fails says why in the manager's log.
	klog.SetLogger(logger.WithName("client-go"))
	setupLog := ctrl.Log.WithName("setup")

	clusterNS := clusterResourceNamespace(o.clusterNS)
	syncErrors := &lastError{}
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(ssov1alpha1.AddToScheme(scheme))

	mgr, err := ctrl.NewManager(ctrl.GetConfigOrDie(), ctrl.Options{
		Scheme:                  scheme,
		Metrics:                 metricsOptions(o),
		HealthProbeBindAddress:  o.probeAddr,
		PprofBindAddress:        o.pprofAddr,
		LeaderElection:          o.leaderElect,
		LeaderElectionID:        "okta-sso-operator.sso.oktaop.io",
		LeaderElectionNamespace: o.leaderElectNS,
		// Release the lease on a clean shutdown so a new replica takes over at once.
		LeaderElectionReleaseOnCancel: true,
		GracefulShutdownTimeout:       &o.shutdownTimeout,
		Client:                        controller.ClientOptions(),
		Cache:                         cacheOptions(o.watchNamespace, clusterNS, syncErrors),
	})
	if err != nil {
		return fmt.Errorf("creating manager: %w", err)
	}
	cluster := &controller.ClusterID{Name: o.clusterID, Reader: mgr.GetAPIReader()}
	egress := &oktaorg.Egress{AllowLoopback: o.allowLoopback}
	fixed, learn, err := oktaorg.ParseClusterCIDRs(o.clusterCIDRs)
	if err != nil {
		return err
	}
	if err := mgr.Add(&oktaorg.ClusterRanges{Reader: mgr.GetAPIReader(), Egress: egress, Fixed: fixed, Learn: learn, Log: ctrl.Log.WithName("egress")}); err != nil {
		return fmt.Errorf("setting up the cluster ranges: %w", err)
	}
	if o.allowLoopback {
		setupLog.Info("URLs chosen in namespaces may reach this host's loopback (--allow-loopback-targets): for development and tests only")
	}
	orgs := &controller.SecretOrgs{Reader: mgr.GetClient(), ClusterResourceNamespace: clusterNS, Egress: egress}
	recorder := mgr.GetEventRecorderFor("okta-sso-operator")
	drift := controller.NewDriftWatch()
	if err := (&controller.OktaSAMLAppReconciler{
		Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Recorder: recorder, Orgs: orgs, Concurrency: o.appConcurrency, Workers: o.appWorkers, Cluster: cluster, Drift: drift,
	}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the OktaSAMLApp controller: %w", err)
	}
	lanes := func(workers int) controller.NamespaceLanes {
		return controller.NamespaceLanes{Workers: workers, PerNamespace: o.perNamespace}
	}
	if err := (&controller.SSOBindingReconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Recorder: recorder, Orgs: orgs, Drift: drift,
		NamespaceLanes: lanes(o.bindingWorkers)}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the SSOBinding controller: %w", err)
	}
	follow := controller.NewFollowQueue()
	if err := (&controller.AccountSyncReconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Recorder: recorder, Orgs: orgs, Follow: follow,
		NamespaceLanes: lanes(o.syncWorkers)}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the AccountSync controller: %w", err)
	}
	follower := &controller.LogFollower{Reader: mgr.GetClient(), Orgs: orgs, Queue: follow, Drift: drift}
	if err := mgr.Add(follower); err != nil {
		return fmt.Errorf("setting up the System Log follower: %w", err)
	}
	if hook, err := o.eventHook.endpoint(follower, mgr.GetClient(), clusterNS); err != nil {
		return err
	} else if hook != nil {
		hook.Elected = mgr.Elected()
		if err := mgr.Add(hook); err != nil {
			return fmt.Errorf("setting up the event hook: %w", err)
		}
	}
	if err := (&controller.OktaSAMLIdentityProviderReconciler{
		Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Recorder: recorder, Orgs: orgs, Cluster: cluster, Drift: drift,
		NamespaceLanes: lanes(o.idpWorkers),
	}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the OktaSAMLIdentityProvider controller: %w", err)
	}
	if err := (&controller.OrgStatusReconciler{Client: mgr.GetClient(), Recorder: recorder, Orgs: orgs, Follower: follower}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the org status controllers: %w", err)
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return fmt.Errorf("adding health check: %w", err)
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return fmt.Errorf("adding ready check: %w", err)
	}

	ctrlmetrics.Registry.MustRegister(buildInfo)
	buildInfo.WithLabelValues(version, goruntime.Version()).Set(1)
	setupLog.Info("Starting manager", "version", version, "watchNamespaces", o.watchNamespace, "leaderElection", o.leaderElect)
	if err := startAndStop(ctrl.SetupSignalHandler(), mgr, o.shutdownTimeout, syncErrors); err != nil {
		return err
	}
	setupLog.Info("Stopped manager")
	return nil
}

// startAndStop runs the manager until the signal context ends, then gives it
// the shutdown timeout to stop. It does not rely on the manager returning:
// a manager whose caches never synced (RBAC that forbids a list, a CRD not
// installed) keeps spinning after its context is cancelled
// (controller-runtime's runnable group waits for them in a loop), which
// would leave a pod terminating at full CPU. Before the caches synced no
// reconcile has run, so there is nothing to drain: it gives the manager at
// most unsyncedStopWait to stop (time enough to release a leader election
// Lease it already holds, so a new replica takes over at once) and returns,
// saying why the caches did not sync.
func startAndStop(ctx context.Context, mgr ctrl.Manager, timeout time.Duration, syncErrors *lastError) error {
	stopped := make(chan error, 1)
	go func() { stopped <- mgr.Start(ctx) }()
	select {
	case err := <-stopped:
		return managerError(err)
	case <-ctx.Done():
	}
	if !cachesSynced(mgr) {
		reason := syncErrors.String()
		if reason == "" {
			reason = "the API server had not answered every list yet"
		}
		select {
		case <-stopped:
		case <-time.After(unsyncedStopWait):
		}
		ctrl.Log.WithName("setup").Info("Stopped before the caches synced", "reason", reason)
		return nil
	}
	select {
	case err := <-stopped:
		return managerError(err)
	case <-time.After(timeout):
		return fmt.Errorf("the manager did not stop within --graceful-shutdown-timeout %s; exiting anyway", timeout)
	}
}

// unsyncedStopWait bounds the wait for a manager stopped before its caches
// synced: one that can stop (a Lease released) does so well within it; one
// stuck in controller-runtime's loop is left after it.
const unsyncedStopWait = time.Second

// cachesSynced tells, at once, whether every informer started so far has
// synced.
func cachesSynced(mgr ctrl.Manager) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	return mgr.GetCache().WaitForCacheSync(ctx)
}

func managerError(err error) error {
	if err != nil {
		return fmt.Errorf("running manager: %w", err)
	}
	return nil
}

// lastError remembers the last error an informer met listing or watching,
// the reason its cache has not synced.
type lastError struct {
	mu  sync.Mutex
	err string
}

func (l *lastError) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// watchErrorHandler records a list or watch error and logs it as client-go
// would.
func (l *lastError) watchErrorHandler(ctx context.Context, r *toolscache.Reflector, err error) {
	l.mu.Lock()
	l.err = err.Error()
	l.mu.Unlock()
	toolscache.DefaultWatchErrorHandler(ctx, r, err)
}

// cacheOptions watches the given namespaces (all when empty) and, among
// them, the one holding ClusterOktaOrgs' credential Secrets, so a rotated
// credential is picked up at once.
func cacheOptions(namespaces, clusterNS string, syncErrors *lastError) cache.Options {
	watched := watchedNamespaces(namespaces)
	if watched != nil {
		watched[clusterNS] = cache.Config{}
	}
	opts := controller.CacheOptions(watched)
	opts.DefaultWatchErrorHandler = syncErrors.watchErrorHandler
	return opts
}

// endpoint is the event hook endpoint the flags ask for, or nil when off.
func (e eventHookOptions) endpoint(follower *controller.LogFollower, reader client.Reader, clusterNS string) (*controller.EventHook, error) {
	if e.addr == "" || e.addr == "0" {
		return nil, nil
	}
	// Without the file, only orgs whose objects set eventHookSecretRef are
	// accepted.
	var secret []byte
	if e.secretFile != "" {
		var err error
		if secret, err = os.ReadFile(e.secretFile); err != nil {
			return nil, fmt.Errorf("--event-hook-secret-file: %w", err)
		}
		if len(strings.TrimSpace(string(secret))) == 0 {
			return nil, fmt.Errorf("--event-hook-secret-file %s is empty", e.secretFile)
		}
	}
	if (e.certFile == "") != (e.keyFile == "") {
		return nil, fmt.Errorf("--event-hook-tls-cert-file and --event-hook-tls-key-file go together")
	}
	return &controller.EventHook{Addr: e.addr, CertFile: e.certFile, KeyFile: e.keyFile, Header: e.header,
		Secret: []byte(strings.TrimSpace(string(secret))), Follower: follower,
		OrgSecrets: func(ctx context.Context, host string) ([][]byte, error) {
			return oktaorg.HookSecrets(ctx, reader, clusterNS, host)
		}}, nil
}

// metricsOptions serves metrics plainly, or over HTTPS with
// controller-runtime's authentication and authorization filter: a
// TokenReview for the caller's token and a SubjectAccessReview for get on
// /metrics, so only Prometheus's service account (bound to the chart's
// metrics-reader ClusterRole) reads them. The certificate is generated at
// start unless one is mounted.
func metricsOptions(o options) metricsserver.Options {
	opts := metricsserver.Options{BindAddress: o.metricsAddr}
	if o.metricsSecure {
		opts.SecureServing = true
		opts.FilterProvider = filters.WithAuthenticationAndAuthorization
	}
	return opts
}

// newLogger builds the structured logger from the --log-level and --log-format flags.
func newLogger(level, format string) (logr.Logger, error) {
	var lvl zapcore.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil || (lvl != zapcore.DebugLevel && lvl != zapcore.InfoLevel && lvl != zapcore.ErrorLevel) {
		return logr.Logger{}, fmt.Errorf("--log-level %q: want debug, info or error", level)
	}
	opts := []zap.Opts{zap.Level(lvl)}
	switch format {
	case "json":
		opts = append(opts, zap.JSONEncoder())
	case "text":
		opts = append(opts, zap.ConsoleEncoder())
	default:
		return logr.Logger{}, fmt.Errorf("--log-format %q: want json or text", format)
	}
	return zap.New(opts...), nil
}

// watchedNamespaces turns "a,b" into the cache's namespace set; nil watches all.
// clusterResourceNamespace is the flag's value, else the pod's namespace
// (POD_NAMESPACE, or the service account's), else the install's default.
func clusterResourceNamespace(flagValue string) string {
	if flagValue != "" {
		return flagValue
	}
	if ns := os.Getenv("POD_NAMESPACE"); ns != "" {
		return ns
	}
	if b, err := os.ReadFile("/var/run/secrets/kubernetes.io/serviceaccount/namespace"); err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return strings.TrimSpace(string(b))
	}
	return "okta-sso-operator-system"
}

func watchedNamespaces(list string) map[string]cache.Config {
	var namespaces map[string]cache.Config
	for _, ns := range strings.Split(list, ",") {
		if ns = strings.TrimSpace(ns); ns == "" {
			continue
		}
		if namespaces == nil {
			namespaces = map[string]cache.Config{}
		}
		namespaces[ns] = cache.Config{}
	}
	return namespaces
}
