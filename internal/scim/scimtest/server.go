// Package scimtest is an in-memory SCIM 2.0 service provider for tests,
// built on a real SCIM server library (github.com/elimity-com/scim: schema
// validation, filters, paging, PATCH parsing), with a request log and
// injectable faults. It is what AccountSync's tests sync into.
package scimtest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	mathrand "math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/elimity-com/scim/optional"
	"github.com/elimity-com/scim/schema"
)

// Server is a running in-memory SCIM service provider.
type Server struct {
	*httptest.Server
	token string

	mu     sync.Mutex
	users  *store
	groups *store
	log    []string // "METHOD /path status"
	fault  Fault
}

// Fault makes the next Times requests (every one when Times < 0), or a
// share Rate of them at random, fail.
type Fault struct {
	Status     int
	RetryAfter string
	// Garbage answers 200 with a body that is not JSON.
	Garbage bool
	Times   int
	// Rate, when above 0, fails that share of requests (0 to 1) at random
	// instead of counting Times.
	Rate float64
	// Method limits the fault to one HTTP method ("" for all).
	Method string
	// LoseAnswer serves the request, then answers with the fault instead:
	// a write that took effect though the client never heard so, as when
	// the connection or the operator dies between a POST and its answer.
	LoseAnswer bool
	// Delay holds each faulted request that long (or until the client
	// gives up) before the fault, or before serving it when the fault is
	// only the delay: a target that hangs.
	Delay time.Duration
}

// Options shape the server.
type Options struct {
	// Token is the bearer token every request must carry.
	Token string
	// NoPatch makes /ServiceProviderConfig say PATCH is unsupported.
	NoPatch bool
	// PageSize is the most a list answers at once (the server's maxResults).
	PageSize int
	// Addr is the address to listen on ("" for any free loopback port).
	Addr string
}

// New starts a server on loopback; Close stops it.
func New(opts Options) (*Server, error) {
	s := &Server{token: opts.Token, users: newStore(), groups: newStore()}
	pageSize := opts.PageSize
	if pageSize == 0 {
		pageSize = 100
	}
	srv, err := scim.NewServer(&scim.ServerArgs{
		ServiceProviderConfig: &scim.ServiceProviderConfig{SupportFiltering: true, SupportPatch: !opts.NoPatch, MaxResults: pageSize},
		ResourceTypes: []scim.ResourceType{
			{ID: optional.NewString("User"), Name: "User", Endpoint: "/Users", Schema: schema.CoreUserSchema(), Handler: &handler{s: s, store: s.users}},
			{ID: optional.NewString("Group"), Name: "Group", Endpoint: "/Groups", Schema: schema.CoreGroupSchema(), Handler: &handler{s: s, store: s.groups}},
		},
	})
	if err != nil {
		return nil, err
	}
	s.Server = httptest.NewUnstartedServer(s.middleware(srv))
	if opts.Addr != "" {
		l, err := net.Listen("tcp", opts.Addr)
		if err != nil {
			return nil, err
		}
		s.Server.Listener.Close()
		s.Server.Listener = l
	}
	s.Server.Start()
	return s, nil
}

// URL is the SCIM root to configure in an AccountSync.
func (s *Server) URL() string { return s.Server.URL + "/scim/v2" }

func (s *Server) middleware(next http.Handler) http.Handler {
	inner := http.StripPrefix("/scim/v2", next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/_test/requests" || r.URL.Path == "/_test/users" {
			s.serveInspection(w, r)
			return
		}
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		defer func() { s.record(r.Method + " " + r.URL.Path + " " + fmt.Sprint(rec.status)) }()
		if r.Header.Get("Authorization") != "Bearer "+s.token {
			writeError(rec, scimerrors.ScimError{Status: http.StatusUnauthorized, Detail: "unauthorized"})
			return
		}
		if f, ok := s.takeFault(r.Method); ok {
			if f.Delay > 0 {
				select {
				case <-time.After(f.Delay):
				case <-r.Context().Done():
					return
				}
			}
			switch {
			case f.Status == 0 && !f.Garbage:
				inner.ServeHTTP(rec, r)
			case f.LoseAnswer:
				inner.ServeHTTP(httptest.NewRecorder(), r)
				writeError(rec, scimerrors.ScimError{Status: f.Status, Detail: "injected after serving"})
			case f.Garbage:
				rec.WriteHeader(http.StatusOK)
				_, _ = rec.Write([]byte("<html>not scim"))
			default:
				if f.RetryAfter != "" {
					rec.Header().Set("Retry-After", f.RetryAfter)
				}
				writeError(rec, scimerrors.ScimError{Status: f.Status, Detail: "injected"})
			}
			return
		}
		inner.ServeHTTP(rec, r)
	})
}

// serveInspection answers GET /_test/requests (the request log) and
// GET /_test/users (every User), so a test that runs the server as a
// process can look inside, as one in-process does with Requests and Users.
func (s *Server) serveInspection(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	var body any = s.Requests(false)
	if r.URL.Path == "/_test/users" {
		body = s.Users()
	}
	_ = json.NewEncoder(w).Encode(body)
}

func (s *Server) takeFault(method string) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.fault
	if f.Method != "" && f.Method != method {
		return Fault{}, false
	}
	if f.Rate > 0 {
		return f, mathrand.Float64() < f.Rate
	}
	if f.Times == 0 {
		return Fault{}, false
	}
	if s.fault.Times > 0 {
		s.fault.Times--
	}
	return f, true
}

// SetFault injects a fault for the next requests.
func (s *Server) SetFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault = f
}

func (s *Server) record(line string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = append(s.log, line)
}

// Requests returns the request log and, with reset, empties it.
func (s *Server) Requests(reset bool) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := append([]string(nil), s.log...)
	if reset {
		s.log = nil
	}
	return out
}

// Count counts logged requests whose line starts with prefix ("POST /scim/v2/Users").
func (s *Server) Count(prefix string) int {
	n := 0
	for _, line := range s.Requests(false) {
		if strings.HasPrefix(line, prefix) {
			n++
		}
	}
	return n
}

// Users returns a copy of every User, by id.
func (s *Server) Users() map[string]map[string]any { return s.users.snapshot() }

// Groups returns a copy of every Group, by id.
func (s *Server) Groups() map[string]map[string]any { return s.groups.snapshot() }

// AddUser puts a User in place, as if the service provider had it already,
// and returns its id.
func (s *Server) AddUser(attrs map[string]any) string { return s.users.add(attrs, "") }

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}

func writeError(w http.ResponseWriter, e scimerrors.ScimError) {
	w.Header().Set("Content-Type", "application/scim+json")
	w.WriteHeader(e.Status)
	body, _ := e.MarshalJSON()
	_, _ = w.Write(body)
}

func newID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
