// Package emulator is an in-memory Okta org over HTTP: a simulator in the
// Cluster API sense. It keeps state, validates input the way Okta does (the
// recorded exchanges in internal/okta/testdata/okta-api are the reference), enforces
// per-bucket rate limits, injects faults, counts requests per route, and acts
// as a real SAML 2.0 IdP for every app. Tests, `make demo` and users' own CI
// run against it.
//
// Start runs an org on a loopback port; New and Handler mount it on a
// server of your own. Seed adds users and groups, Stats counts requests,
// SetFaults and SetRateLimits change the faults and limits while it runs.
// The same controls are served over HTTP under /emulator/ for other
// languages (docs/emulator.md).
package emulator

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Config shapes a new emulated org.
type Config struct {
	// APIToken is the SSWS token every management API call must carry.
	APIToken string
	// OrgName is the org subdomain (Okta's company ID), used in generated
	// app names and certificates. Defaults to "emulator".
	OrgName string
	// Classic makes the org answer like an Okta Classic Engine org instead
	// of an Identity Engine one (no access policies in app links).
	Classic bool
	// Now is the clock; defaults to time.Now. Rate-limit windows, timestamps
	// and certificate validity follow it.
	Now func() time.Time
	// RateLimits overrides per-bucket limits (requests per window); see
	// DefaultRateLimits for the buckets.
	RateLimits map[string]int
	// RateLimitWindow is the length of a rate-limit window: a minute (the
	// default, as Okta's), or shorter so tests and benchmarks go through
	// many windows in real time.
	RateLimitWindow time.Duration
	// Faults are the faults injected from the start.
	Faults Faults
	// KeyBits is the RSA size of generated signing keys; defaults to 2048.
	KeyBits int
	// Seed holds the users and groups the org starts with.
	Seed *Seed
	// RandSeed makes IDs and fault injection repeatable when non-zero.
	RandSeed uint64
	// SessionIdleTimeout ends a person's org session when unused this long;
	// defaults to two hours, the idle limit of Okta's default global
	// session policy.
	SessionIdleTimeout time.Duration
	// Release is the Okta release, "YYYY.MM", whose answer shapes the org
	// gives (fields Okta added or dropped since); empty answers like the
	// newest recordings.
	Release string
	// Addr is where Start listens; defaults to a free loopback port.
	Addr string
}

var releasePattern = regexp.MustCompile(`^20[0-9]{2}\.(0[1-9]|1[0-2])$`)

// Server is one emulated Okta org.
type Server struct {
	cfg     Config
	now     func() time.Time
	baseURL string

	mu sync.Mutex
	// changes runs one change at a time (transacted), and transaction is
	// its request ID, which the events it writes carry.
	changes     sync.Mutex
	transaction string
	// provisioning runs one provisioning pass at a time (Provision);
	// provisionAgain asks the running one for another.
	provisioning   sync.Mutex
	provisionAgain atomic.Bool
	rand           *rand.Rand
	org            *org
	stats          *stats

	limits *limiter
	faults *faultInjector

	oauthClients map[string]oauthClient
	accessTokens map[string]accessToken
	usedJTIs     map[string]time.Time
	// dpopNonce is the DPoP nonce proofs must carry (RotateDPoPNonce).
	dpopNonce string
	sessions  map[string]*session // session cookie → the signed-in user
	// actor is who the System Log says made the change being made: an
	// API token's admin, or the org itself while seeding.
	actor   logEntity
	pending map[string]*signInAttempt // a sign-in form's state → its attempt

	mux       *http.ServeMux
	apiRoutes []string
	served    *http.Server // set by Start
}

// Start makes an org and serves it over HTTP on cfg.Addr (a free loopback
// port by default) until Close.
func Start(cfg Config) (*Server, error) {
	s, err := New(cfg)
	if err != nil {
		return nil, err
	}
	addr := cfg.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s.SetBaseURL("http://" + ln.Addr().String())
	s.served = &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.served.Serve(ln) }()
	return s, nil
}

// Close stops an org started by Start, ending open connections.
func (s *Server) Close() error {
	if s.served == nil {
		return errors.New("emulator: Close of an org not started by Start")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return s.served.Shutdown(ctx)
}

// New makes an org. SetBaseURL must be called once the listener's address
// is known, since links and SAML endpoints carry it.
func New(cfg Config) (*Server, error) {
	if cfg.OrgName == "" {
		cfg.OrgName = "emulator"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.KeyBits == 0 {
		cfg.KeyBits = 2048
	}
	if cfg.SessionIdleTimeout == 0 {
		cfg.SessionIdleTimeout = 2 * time.Hour
	}
	if cfg.Release != "" && !releasePattern.MatchString(cfg.Release) {
		return nil, fmt.Errorf("release %q is not YYYY.MM, such as 2026.02", cfg.Release)
	}
	seed := cfg.RandSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	s := &Server{
		cfg:          cfg,
		now:          func() time.Time { return cfg.Now().UTC() },
		rand:         rand.New(rand.NewPCG(seed, seed>>1|1)),
		stats:        newStats(),
		oauthClients: map[string]oauthClient{},
		accessTokens: map[string]accessToken{},
		usedJTIs:     map[string]time.Time{},
		sessions:     map[string]*session{},
		actor:        apiActor,
		pending:      map[string]*signInAttempt{},
	}
	s.org = newOrg(s)
	s.dpopNonce = s.randomString(32)
	if _, e := s.addGroup("Everyone", "All users in your organization", "BUILT_IN"); e != nil {
		return nil, fmt.Errorf("creating the Everyone group: %s", e.Summary)
	}
	s.addPresetPolicies()
	s.limits = newLimiter(s.now, cfg.RateLimitWindow, cfg.RateLimits)
	s.faults = newFaultInjector(cfg.Faults, rand.New(rand.NewPCG(seed+1, seed)))
	s.routes()
	if cfg.Seed != nil {
		if err := s.Seed(cfg.Seed); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// SetBaseURL sets the org URL, such as http://127.0.0.1:8443.
func (s *Server) SetBaseURL(u string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.baseURL = strings.TrimSuffix(u, "/")
}

// BaseURL returns the org URL.
func (s *Server) BaseURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.baseURL
}

// Routes lists the management API operations the org serves, as
// "METHOD /path/{param}".
func (s *Server) Routes() []string { return slices.Clone(s.apiRoutes) }

// Handler serves the org.
func (s *Server) Handler() http.Handler { return s.mux }

// routes registers every endpoint. Management API routes pass through
// counting, fault injection, rate limiting and authentication, in that order,
// like requests to a real org.
func (s *Server) routes() {
	s.mux = http.NewServeMux()
	api := func(pattern string, h http.HandlerFunc) {
		s.mux.Handle(pattern, s.counted(s.identified(s.paced(s.faulty(s.rateLimited(s.authenticated(s.transacted(h).ServeHTTP)))))))
		s.apiRoutes = append(s.apiRoutes, pattern)
	}

	api("GET /.well-known/okta-organization", s.getOrganization)

	api("GET /api/v1/apps", s.listApps)
	api("POST /api/v1/apps", s.createApp)
	api("GET /api/v1/apps/{appID}", s.getApp)
	api("PUT /api/v1/apps/{appID}", s.updateApp)
	api("DELETE /api/v1/apps/{appID}", s.deleteApp)
	api("POST /api/v1/apps/{appID}/lifecycle/activate", s.activateApp)
	api("POST /api/v1/apps/{appID}/lifecycle/deactivate", s.deactivateApp)
	api("GET /api/v1/apps/{appID}/sso/saml/metadata", s.getAppMetadata)
	api("GET /api/v1/apps/{appID}/credentials/keys", s.listAppKeys)
	api("GET /api/v1/apps/{appID}/credentials/keys/{kid}", s.getAppKey)
	api("POST /api/v1/apps/{appID}/credentials/keys/generate", s.generateAppKey)
	api("GET /api/v1/apps/{appID}/groups", s.listAppGroups)
	api("GET /api/v1/apps/{appID}/groups/{groupID}", s.getAppGroup)
	api("PUT /api/v1/apps/{appID}/groups/{groupID}", s.assignAppGroup)
	api("DELETE /api/v1/apps/{appID}/groups/{groupID}", s.unassignAppGroup)
	api("GET /api/v1/apps/{appID}/users", s.listAppUsers)
	api("POST /api/v1/apps/{appID}/users", s.assignAppUser)
	api("GET /api/v1/apps/{appID}/users/{userID}", s.getAppUser)
	api("POST /api/v1/apps/{appID}/users/{userID}", s.updateAppUser)
	api("DELETE /api/v1/apps/{appID}/users/{userID}", s.unassignAppUser)

	api("GET /api/v1/apps/{appID}/connections/default", s.getConnection)
	api("POST /api/v1/apps/{appID}/connections/default", s.setConnection)
	api("POST /api/v1/apps/{appID}/connections/default/lifecycle/activate", s.connectionLifecycle(true))
	api("POST /api/v1/apps/{appID}/connections/default/lifecycle/deactivate", s.connectionLifecycle(false))
	api("GET /api/v1/apps/{appID}/features", s.listFeatures)
	api("GET /api/v1/apps/{appID}/features/{featureName}", s.getFeature)
	api("PUT /api/v1/apps/{appID}/features/{featureName}", s.updateFeature)
	api("GET /api/v1/mappings", s.listMappings)
	api("GET /api/v1/mappings/{mappingID}", s.getMapping)
	api("POST /api/v1/mappings/{mappingID}", s.updateMapping)
	api("GET /api/v1/apps/{appID}/group-push/mappings", s.listPushMappings)
	api("POST /api/v1/apps/{appID}/group-push/mappings", s.createPushMapping)
	api("GET /api/v1/apps/{appID}/group-push/mappings/{mappingID}", s.getPushMapping)
	api("PATCH /api/v1/apps/{appID}/group-push/mappings/{mappingID}", s.updatePushMapping)
	api("DELETE /api/v1/apps/{appID}/group-push/mappings/{mappingID}", s.deletePushMapping)

	api("PUT /api/v1/apps/{appID}/policies/{policyID}", s.assignAppPolicy)
	api("GET /api/v1/policies", s.listPolicies)
	api("POST /api/v1/policies", s.createPolicy)
	api("GET /api/v1/policies/{policyID}", s.getPolicy)
	api("PUT /api/v1/policies/{policyID}", s.replacePolicy)
	api("DELETE /api/v1/policies/{policyID}", s.deletePolicy)
	api("POST /api/v1/policies/{policyID}/lifecycle/activate", s.setPolicyStatus("ACTIVE"))
	api("POST /api/v1/policies/{policyID}/lifecycle/deactivate", s.setPolicyStatus("INACTIVE"))

	api("GET /api/v1/groups", s.listGroups)
	api("POST /api/v1/groups", s.createGroup)
	api("GET /api/v1/groups/{groupID}", s.getGroup)
	api("PUT /api/v1/groups/{groupID}", s.updateGroup)
	api("DELETE /api/v1/groups/{groupID}", s.deleteGroup)
	api("GET /api/v1/groups/{groupID}/users", s.listGroupUsers)
	api("PUT /api/v1/groups/{groupID}/users/{userID}", s.addGroupUser)
	api("DELETE /api/v1/groups/{groupID}/users/{userID}", s.removeGroupUser)
	api("GET /api/v1/groups/{groupID}/owners", s.listGroupOwners)
	api("POST /api/v1/groups/{groupID}/owners", s.addGroupOwner)
	api("DELETE /api/v1/groups/{groupID}/owners/{ownerID}", s.removeGroupOwner)

	api("GET /api/v1/logs", s.listLogs)
	api("GET /api/v1/users", s.listUsers)
	api("POST /api/v1/users", s.createUser)
	api("GET /api/v1/users/{userID}", s.getUser)
	api("PUT /api/v1/users/{userID}", s.replaceUser)
	api("POST /api/v1/users/{userID}", s.updateUser)
	api("DELETE /api/v1/users/{userID}", s.deleteUser)
	api("GET /api/v1/users/{userID}/groups", s.listUserGroups)
	for _, operation := range []string{"activate", "reactivate", "suspend", "unsuspend", "unlock", "deactivate"} {
		api("POST /api/v1/users/{userID}/lifecycle/"+operation, s.userLifecycle(operation))
	}

	api("GET /api/v1/idps", s.listIdPs)
	api("POST /api/v1/idps", s.createIdP)
	api("GET /api/v1/idps/{idpID}", s.getIdP)
	api("GET /api/v1/idps/{idpID}/metadata.xml", s.getIdPMetadata)
	api("PUT /api/v1/idps/{idpID}", s.replaceIdP)
	api("DELETE /api/v1/idps/{idpID}", s.deleteIdP)
	api("POST /api/v1/idps/{idpID}/lifecycle/activate", s.activateIdP)
	api("POST /api/v1/idps/{idpID}/lifecycle/deactivate", s.deactivateIdP)
	api("GET /api/v1/idps/credentials/keys", s.listIdPKeys)
	api("POST /api/v1/idps/credentials/keys", s.createIdPKey)
	api("GET /api/v1/idps/credentials/keys/{kid}", s.getIdPKey)
	api("DELETE /api/v1/idps/credentials/keys/{kid}", s.deleteIdPKey)

	// The OAuth token endpoint is rate limited and counted, and authenticates
	// clients by their signed assertion instead of a token.
	s.mux.Handle("POST /oauth2/v1/token", s.counted(s.identified(s.paced(s.faulty(s.rateLimited(http.HandlerFunc(s.issueToken)))))))

	// The SAML IdP: browser-facing, not rate limited, counted.
	s.mux.Handle("GET /app/{appName}/{exk}/sso/saml", s.counted(http.HandlerFunc(s.samlSSO)))
	s.mux.Handle("POST /app/{appName}/{exk}/sso/saml", s.counted(http.HandlerFunc(s.samlSSO)))
	s.mux.Handle("GET /app/{appName}/{exk}/slo/saml", s.counted(http.HandlerFunc(s.samlSLO)))
	s.mux.Handle("POST /app/{appName}/{exk}/slo/saml", s.counted(http.HandlerFunc(s.samlSLO)))
	s.mux.Handle("GET /home/{appName}/{appID}/{linkID}", s.counted(http.HandlerFunc(s.samlIdPInitiated)))
	s.mux.Handle("POST /sso/saml2/{idpID}", s.counted(http.HandlerFunc(s.idpACS)))
	s.mux.Handle("POST /login/emulator", s.counted(http.HandlerFunc(s.samlLogin)))
	s.mux.Handle("GET /login/emulator/back", s.counted(http.HandlerFunc(s.backToIdentify)))
	s.mux.Handle("GET /login/login.htm", s.counted(http.HandlerFunc(s.signInPage)))
	s.mux.Handle("GET /login/signout", s.counted(http.HandlerFunc(s.signOut)))
	s.mux.Handle("GET /app/UserHome", s.counted(http.HandlerFunc(s.userHomeHandler)))
	s.mux.Handle("GET /{$}", s.counted(http.HandlerFunc(s.rootHandler)))

	// Controls for tests and demos; not part of Okta's API.
	s.mux.HandleFunc("GET /emulator/stats", s.getStats)
	s.mux.HandleFunc("DELETE /emulator/stats", s.resetStats)
	s.mux.HandleFunc("GET /emulator/faults", s.getFaults)
	s.mux.HandleFunc("PUT /emulator/faults", s.putFaults)
	s.mux.HandleFunc("GET /emulator/rate-limits", s.getRateLimits)
	s.mux.HandleFunc("PUT /emulator/rate-limits", s.putRateLimits)
	s.mux.HandleFunc("POST /emulator/users", s.seedUser)
	s.mux.HandleFunc("POST /emulator/dpop-nonce", func(w http.ResponseWriter, _ *http.Request) {
		s.RotateDPoPNonce()
		w.WriteHeader(http.StatusNoContent)
	})
	s.mux.HandleFunc("GET /emulator/health", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })

	s.mux.Handle("/", s.counted(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, http.StatusNotFound, errNotFoundRoute(r.URL.Path))
	})))
}
