package emulator

import (
	"crypto/subtle"
	"encoding/json"
	"maps"
	"math/rand/v2"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/oktaop/okta-sso-operator/internal/okta"
)

// apiError is Okta's error body.
type apiError struct {
	Code    string
	Summary string
	Causes  []string
}

func (s *Server) writeError(w http.ResponseWriter, status int, e apiError) {
	causes := make([]map[string]string, 0, len(e.Causes))
	for _, c := range e.Causes {
		causes = append(causes, map[string]string{"errorSummary": c})
	}
	writeJSON(w, status, map[string]any{
		"errorCode":    e.Code,
		"errorSummary": e.Summary,
		"errorLink":    e.Code,
		"errorId":      "oae" + s.randomString(22),
		"errorCauses":  causes,
	})
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

func errNotFound(id, kind string) apiError {
	return apiError{Code: "E0000007", Summary: "Not found: Resource not found: " + id + " (" + kind + ")"}
}

func errNotFoundRoute(path string) apiError { return errNotFound(path, "Resource") }

func errValidation(field string, causes ...string) apiError {
	return apiError{Code: "E0000001", Summary: "Api validation failed: " + field, Causes: causes}
}

var (
	errInvalidToken = apiError{Code: "E0000011", Summary: "Invalid token provided"}
	errRateLimited  = apiError{Code: "E0000047", Summary: "API call exceeded rate limit due to too many requests."}
	errInternal     = apiError{Code: "E0000009", Summary: "Internal Server Error"}
	errBadJSON      = apiError{Code: "E0000003", Summary: "The request body was not well-formed."}
	errForbidden    = apiError{Code: "E0000006", Summary: "You do not have permission to perform the requested action"}
)

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// counted records every request by method and route template, and by status.
func (s *Server) counted(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.stats.enter()
		defer s.stats.leave()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		route := r.Pattern
		if route == "" || route == "/" {
			route = r.Method + " (unknown route)"
		}
		s.stats.record(route, rec.status)
	})
}

// authenticated accepts the SSWS API token (an admin's: everything) or an
// access token this org issued, within its scopes.
func (s *Server) authenticated(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		status, fault := s.authorize(r)
		if fault != nil { // a DPoP presentation that is wrong: say how, as RFC 9449 asks
			if fault.useNonce() {
				w.Header().Set("DPoP-Nonce", s.currentDPoPNonce())
			}
			w.Header().Set("WWW-Authenticate", `DPoP algs="ES256 RS256", error="`+fault.code+`", error_description="`+fault.description+`"`)
		}
		switch status {
		case http.StatusUnauthorized:
			s.writeError(w, http.StatusUnauthorized, errInvalidToken)
		case http.StatusForbidden:
			s.writeError(w, http.StatusForbidden, errForbidden)
		default:
			next(w, r)
		}
	})
}

// authorize answers 200, 401 (no valid credential) or 403 (a valid token
// without the scope the request needs); for a DPoP presentation that is
// wrong, also what is wrong with it.
func (s *Server) authorize(r *http.Request) (int, *dpopFault) {
	scheme, credential, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || credential == "" {
		return http.StatusUnauthorized, nil
	}
	switch scheme {
	case "SSWS":
		if s.cfg.APIToken != "" && subtle.ConstantTimeCompare([]byte(credential), []byte(s.cfg.APIToken)) == 1 {
			return http.StatusOK, nil
		}
	case "Bearer", "DPoP":
		s.mu.Lock()
		defer s.mu.Unlock()
		token, ok := s.accessTokens[credential]
		if !ok || !s.now().Before(token.expires) {
			return http.StatusUnauthorized, nil
		}
		if (scheme == "DPoP") != (token.jkt != "") { // a bound token shown as Bearer, or the reverse
			return http.StatusUnauthorized, nil
		}
		if token.jkt != "" {
			jkt, fault := s.verifyProof(r.Header.Get("DPoP"), r.Method, s.baseURL+r.URL.Path, credential)
			if fault == nil && jkt != token.jkt {
				fault = &dpopFault{"invalid_dpop_proof", "The DPoP proof is signed with another key than the token is bound to."}
			}
			if fault != nil {
				return http.StatusUnauthorized, fault
			}
		}
		if !token.allows(r.Method, r.URL.Path) {
			return http.StatusForbidden, nil
		}
		return http.StatusOK, nil
	}
	return http.StatusUnauthorized, nil
}

func (s *Server) currentDPoPNonce() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dpopNonce
}

// rateLimited enforces the bucket of the request's endpoint family and sets
// Okta's X-Rate-Limit-* headers on every answer.
func (s *Server) rateLimited(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := s.limits.take(okta.BucketOf(r.Method, r.URL.Path))
		h := w.Header()
		h.Set("X-Rate-Limit-Limit", strconv.Itoa(b.limit))
		h.Set("X-Rate-Limit-Remaining", strconv.Itoa(b.remaining))
		h.Set("X-Rate-Limit-Reset", strconv.FormatInt(b.reset.Unix(), 10))
		if !b.allowed {
			s.stats.throttled(okta.BucketOf(r.Method, r.URL.Path), s.now(), b.reset)
			s.writeError(w, http.StatusTooManyRequests, errRateLimited)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// paced notes each request's arrival against the 429s its bucket answered,
// before any injected latency, so Stats can tell a client that came back
// before the reset it was given.
func (s *Server) paced(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.stats.arrive(okta.BucketOf(r.Method, r.URL.Path), s.now())
		next.ServeHTTP(w, r)
	})
}

// faulty injects latency, forced 429s and server errors.
func (s *Server) faulty(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f := s.faults.next(r.Pattern)
		if f.latency > 0 {
			select {
			case <-time.After(f.latency):
			case <-r.Context().Done():
				return
			}
		}
		switch {
		case f.spend:
			s.limits.spend(okta.BucketOf(r.Method, r.URL.Path))
			next.ServeHTTP(w, r) // refused by the limiter, with its reset
		case f.force429:
			reset := s.now().Add(s.limits.window).Truncate(time.Second)
			s.stats.throttled(okta.BucketOf(r.Method, r.URL.Path), s.now(), reset)
			w.Header().Set("X-Rate-Limit-Limit", "0")
			w.Header().Set("X-Rate-Limit-Remaining", "0")
			w.Header().Set("X-Rate-Limit-Reset", strconv.FormatInt(reset.Unix(), 10))
			s.writeError(w, http.StatusTooManyRequests, errRateLimited)
		case f.errorStatus != 0:
			s.writeError(w, f.errorStatus, errInternal)
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// DefaultRateLimits are requests per minute per bucket: Okta's documented
// limits for a Workforce Identity org, bucket by bucket as Okta counts them
// (okta.BucketOf). A bucket not named is limited as okta.BucketOther.
var DefaultRateLimits = maps.Clone(okta.WorkforceLimits)

// UnlimitedRateLimits sets every bucket out of reach (a million a window),
// for tests about something other than rate limits.
func UnlimitedRateLimits() map[string]int {
	limits := map[string]int{}
	for bucket := range DefaultRateLimits {
		limits[bucket] = 1 << 20
	}
	return limits
}

// limiter keeps one fixed window per bucket: a minute, as Okta's, or
// shorter so tests can go through many windows in real time.
type limiter struct {
	mu      sync.Mutex
	now     func() time.Time
	window  time.Duration
	limits  map[string]int
	windows map[string]*window
}

type window struct {
	start time.Time
	used  int
}

type bucketAnswer struct {
	allowed   bool
	limit     int
	remaining int
	reset     time.Time
}

func newLimiter(now func() time.Time, length time.Duration, overrides map[string]int) *limiter {
	if length <= 0 {
		length = time.Minute
	}
	l := &limiter{now: now, window: length, limits: map[string]int{}, windows: map[string]*window{}}
	for k, v := range DefaultRateLimits {
		l.limits[k] = v
	}
	for k, v := range overrides {
		l.limits[k] = v
	}
	return l
}

func (l *limiter) limitOf(bucket string) int {
	if n, ok := l.limits[bucket]; ok {
		return n
	}
	return l.limits[okta.BucketOther]
}

// current is the bucket's window now, a new one once the last is over.
// Callers hold l.mu.
func (l *limiter) current(bucket string) *window {
	now := l.now()
	w := l.windows[bucket]
	if w == nil || !now.Before(w.start.Add(l.window)) {
		w = &window{start: now}
		l.windows[bucket] = w
	}
	return w
}

func (l *limiter) take(bucket string) bucketAnswer {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.current(bucket)
	limit := l.limitOf(bucket)
	a := bucketAnswer{limit: limit, reset: ceilSecond(w.start.Add(l.window))}
	if w.used >= limit {
		return a
	}
	w.used++
	a.allowed = true
	a.remaining = limit - w.used
	return a
}

// ceilSecond rounds up to a whole second: X-Rate-Limit-Reset is in epoch
// seconds, and a client that waits until then must find the window over.
func ceilSecond(t time.Time) time.Time {
	if r := t.Truncate(time.Second); !r.Equal(t) {
		return r.Add(time.Second)
	}
	return t
}

// spend uses up the bucket's current window, as the org's other clients
// can.
func (l *limiter) spend(bucket string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.current(bucket).used = l.limitOf(bucket)
}

func (l *limiter) set(limits map[string]int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for k, v := range limits {
		l.limits[k] = v
	}
}

func (l *limiter) snapshot() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]int, len(l.limits))
	for k, v := range l.limits {
		out[k] = v
	}
	return out
}

// Faults are injected into management API and token requests.
type Faults struct {
	// ErrorRate is the share of requests, 0 to 1, answered with ErrorStatus.
	ErrorRate float64 `json:"errorRate"`
	// ErrorStatus is 500 (the default) or 503.
	ErrorStatus int `json:"errorStatus,omitempty"`
	// Latency is added before every answer.
	Latency Duration `json:"latency,omitempty"`
	// Force429 answers the next N requests with 429.
	Force429 int `json:"force429,omitempty"`
	// Force5xx answers the next N requests with ErrorStatus.
	Force5xx int `json:"force5xx,omitempty"`
	// ThrottleRate is the share of requests, 0 to 1, that find their bucket
	// spent by the org's other clients: that request and every one after it
	// in the bucket get 429 until the window's end.
	ThrottleRate float64 `json:"throttleRate,omitempty"`
	// Route limits the faults to one route, as Stats names it ("GET
	// /api/v1/logs"); every route when empty.
	Route string `json:"route,omitempty"`
}

// Duration is a time.Duration written as "250ms" in JSON and YAML.
type Duration time.Duration

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads "250ms" or a number of nanoseconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var n int64
		if err := json.Unmarshal(b, &n); err != nil {
			return err
		}
		*d = Duration(n)
		return nil
	}
	v, err := time.ParseDuration(s)
	*d = Duration(v)
	return err
}

type faultInjector struct {
	mu     sync.Mutex
	faults Faults
	rand   *rand.Rand
}

type fault struct {
	latency     time.Duration
	force429    bool
	spend       bool // the bucket is spent until its window's end
	errorStatus int
}

func newFaultInjector(f Faults, r *rand.Rand) *faultInjector {
	return &faultInjector{faults: f, rand: r}
}

func (fi *faultInjector) next(route string) fault {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	if fi.faults.Route != "" && fi.faults.Route != route {
		return fault{}
	}
	f := fault{latency: time.Duration(fi.faults.Latency)}
	status := fi.faults.ErrorStatus
	if status == 0 {
		status = http.StatusInternalServerError
	}
	switch {
	case fi.faults.Force429 > 0:
		fi.faults.Force429--
		f.force429 = true
	case fi.faults.Force5xx > 0:
		fi.faults.Force5xx--
		f.errorStatus = status
	case fi.faults.ErrorRate > 0 || fi.faults.ThrottleRate > 0:
		// One draw for both, so a given seed fails the same requests
		// whatever ThrottleRate is added.
		switch u := fi.rand.Float64(); {
		case u < fi.faults.ThrottleRate:
			f.spend = true
		case u < fi.faults.ThrottleRate+fi.faults.ErrorRate:
			f.errorStatus = status
		}
	}
	return f
}

func (fi *faultInjector) get() Faults {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	return fi.faults
}

func (fi *faultInjector) set(f Faults) {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	fi.faults = f
}

// stats counts requests by route template and status.
type stats struct {
	mu      sync.Mutex
	byRoute map[string]map[int]int
	// inFlight and maxInFlight are the requests being answered now and at
	// most so far: Okta limits an org to 75 at once, all its clients
	// together.
	inFlight, maxInFlight int
	// refusals are each bucket's last 429: when it was answered and the
	// reset it gave; early counts requests that came before that reset.
	refusals map[string]refusal
	early    int
}

// refusal is a bucket's last 429.
type refusal struct{ at, reset time.Time }

// EarlyGrace is how long after a 429 a request to the same bucket is still
// taken for one the client had sent before it heard the 429.
const EarlyGrace = time.Second

// throttled notes a 429 answered at now, with the reset it announced.
func (st *stats) throttled(bucket string, now, reset time.Time) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.refusals[bucket] = refusal{at: now, reset: reset}
}

// arrive counts a request that comes to a bucket after its 429 (and the
// grace) but before the reset that 429 gave.
func (st *stats) arrive(bucket string, now time.Time) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if r, ok := st.refusals[bucket]; ok && now.After(r.at.Add(EarlyGrace)) && now.Before(r.reset) {
		st.early++
	}
}

func (st *stats) enter() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.inFlight++
	st.maxInFlight = max(st.maxInFlight, st.inFlight)
}

func (st *stats) leave() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.inFlight--
}

// Stats is what GET /emulator/stats answers.
type Stats struct {
	// Total counts every request.
	Total int `json:"total"`
	// Routes counts requests by "METHOD /route/{template}".
	Routes map[string]int `json:"routes"`
	// Statuses counts answers by status code.
	Statuses map[string]int `json:"statuses"`
	// Buckets counts requests by the rate-limit bucket Okta counts them in
	// (okta.BucketOf).
	Buckets map[string]int `json:"buckets"`
	// RouteStatuses counts answers by route and status code.
	RouteStatuses map[string]map[string]int `json:"routeStatuses"`
	// MaxInFlight is the most requests answered at once (Okta allows an org
	// 75 concurrent requests).
	MaxInFlight int `json:"maxInFlight"`
	// EarlyRequests counts requests that came to a bucket after it answered
	// 429 and before the X-Rate-Limit-Reset it gave (EarlyGrace after the
	// 429 is allowed for requests already on their way). A client that
	// honours the reset makes none.
	EarlyRequests int `json:"earlyRequests"`
}

func newStats() *stats {
	return &stats{byRoute: map[string]map[int]int{}, refusals: map[string]refusal{}}
}

func (st *stats) record(route string, status int) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.byRoute[route] == nil {
		st.byRoute[route] = map[int]int{}
	}
	st.byRoute[route][status]++
}

func (st *stats) snapshot() Stats {
	st.mu.Lock()
	defer st.mu.Unlock()
	out := Stats{Routes: map[string]int{}, Statuses: map[string]int{}, Buckets: map[string]int{}, RouteStatuses: map[string]map[string]int{},
		MaxInFlight: st.maxInFlight, EarlyRequests: st.early}
	for route, codes := range st.byRoute {
		out.RouteStatuses[route] = map[string]int{}
		for code, n := range codes {
			c := strconv.Itoa(code)
			out.Total += n
			out.Routes[route] += n
			if method, path, ok := strings.Cut(route, " "); ok && rateLimitedPath(path) {
				out.Buckets[okta.BucketOf(method, path)] += n
			}
			out.Statuses[c] += n
			out.RouteStatuses[route][c] = n
		}
	}
	return out
}

// rateLimitedPath: Okta's API and token endpoint count against buckets;
// sign-in pages and the emulator's own endpoints do not.
func rateLimitedPath(path string) bool {
	return strings.HasPrefix(path, "/api/") || strings.HasPrefix(path, "/oauth2/")
}

func (st *stats) reset() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.byRoute = map[string]map[int]int{}
	st.maxInFlight = st.inFlight
	st.early = 0
}

// Stats returns the request counts so far.
func (s *Server) Stats() Stats { return s.stats.snapshot() }

// ResetStats clears the request counts.
func (s *Server) ResetStats() { s.stats.reset() }

// SetFaults replaces the injected faults.
func (s *Server) SetFaults(f Faults) { s.faults.set(f) }

// SetRateLimits overrides bucket limits (requests per minute).
func (s *Server) SetRateLimits(limits map[string]int) { s.limits.set(limits) }

func (s *Server) getStats(w http.ResponseWriter, _ *http.Request) { writeJSON(w, 200, s.Stats()) }

func (s *Server) resetStats(w http.ResponseWriter, _ *http.Request) {
	s.ResetStats()
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) getFaults(w http.ResponseWriter, _ *http.Request) { writeJSON(w, 200, s.faults.get()) }

func (s *Server) putFaults(w http.ResponseWriter, r *http.Request) {
	var f Faults
	if err := json.NewDecoder(r.Body).Decode(&f); err != nil || f.ErrorRate < 0 || f.ThrottleRate < 0 || f.ErrorRate+f.ThrottleRate > 1 ||
		(f.ErrorStatus != 0 && f.ErrorStatus != 500 && f.ErrorStatus != 503) {
		s.writeError(w, http.StatusBadRequest, errValidation("faults", "errorRate and throttleRate are 0 to 1 together; errorStatus is 500 or 503"))
		return
	}
	s.SetFaults(f)
	writeJSON(w, 200, f)
}

func (s *Server) getRateLimits(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, 200, s.limits.snapshot())
}

func (s *Server) putRateLimits(w http.ResponseWriter, r *http.Request) {
	var limits map[string]int
	if err := json.NewDecoder(r.Body).Decode(&limits); err != nil {
		s.writeError(w, http.StatusBadRequest, errBadJSON)
		return
	}
	for bucket, n := range limits {
		if _, known := DefaultRateLimits[bucket]; !known {
			s.writeError(w, http.StatusBadRequest, errValidation("rate-limits", bucket+": not one of Okta's buckets ("+strings.Join(sortedKeys(DefaultRateLimits), ", ")+")"))
			return
		}
		if n < 1 {
			s.writeError(w, http.StatusBadRequest, errValidation("rate-limits", bucket+": a limit is at least 1 per minute"))
			return
		}
	}
	s.SetRateLimits(limits)
	writeJSON(w, 200, s.limits.snapshot())
}

// sortedKeys returns a map's keys in order, for stable answers.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
