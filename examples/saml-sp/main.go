// Command saml-sp is an example service provider configured only from the
// files of an OktaSAMLApp's connection Secret (mounted as a volume, or
// written to a directory): idp-metadata.xml, and tls.crt/tls.key when the
// app signs its AuthnRequests. It reloads them when they change, as a
// workload must during a signing key rotation. Its home page shows who
// signed in and with which attributes.
package main

import (
	"bytes"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/crewjam/saml"
	"github.com/crewjam/saml/samlsp"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8090", "Address to listen on.")
	base := flag.String("url", "http://127.0.0.1:8090", "The SP's public base URL; the ACS is <url>/saml/acs.")
	entityID := flag.String("entity-id", "", "The SP's entity ID (the app's serviceProvider.entityID); default <url>/saml/metadata.")
	dir := flag.String("secret-dir", "", "Directory holding the connection Secret's files (required).")
	flag.Parse()
	if *dir == "" {
		log.Fatal("saml-sp: --secret-dir is required")
	}
	root, err := url.Parse(*base)
	if err != nil {
		log.Fatalf("saml-sp: --url: %v", err)
	}
	if *entityID == "" {
		*entityID = root.String() + "/saml/metadata"
	}
	sp := &reloadingSP{dir: *dir, url: *root, entityID: *entityID}
	if _, err := sp.current(); err != nil {
		log.Fatalf("saml-sp: %v", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/saml/", func(w http.ResponseWriter, r *http.Request) { sp.serve(homeWhenUntracked{ResponseWriter: w}, r, nil) })
	mux.HandleFunc("/logout", sp.signOut)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { sp.serve(w, r, whoAmI) })
	log.Printf("saml-sp: serving %s on %s with the IdP from %s", root, *addr, *dir)
	srv := &http.Server{Addr: *addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServe())
}

// whoAmI is the protected page.
func whoAmI(w http.ResponseWriter, r *http.Request) {
	claims := samlsp.SessionFromContext(r.Context()).(samlsp.JWTSessionClaims)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"subject": claims.Subject, "attributes": claims.Attributes})
}

// trackingLifetime is how long the SP waits for the IdP's answer to its
// AuthnRequest: a person may take minutes on the sign-in form (crewjam's
// default is 90 s).
const trackingLifetime = 10 * time.Minute

// requestTracker keeps the AuthnRequest in a cookie that lasts minutes and,
// over HTTPS, goes with the IdP's cross-site POST to the ACS (SameSite=None;
// Secure): a browser's strict default would drop it there.
func requestTracker(opts samlsp.Options, sp *saml.ServiceProvider) samlsp.CookieRequestTracker {
	t := samlsp.DefaultRequestTracker(opts, sp)
	t.MaxAge, t.SameSite = trackingLifetime, http.SameSiteLaxMode
	if opts.URL.Scheme == "https" {
		t.SameSite = http.SameSiteNoneMode // crewjam marks it Secure for an https ACS
	}
	return t
}

// homeWhenUntracked sends a person signed in at the ACS whose request
// cookie was gone (a slow sign-in, a browser that dropped it) to the SP's
// home page: crewjam would send them to the request's index, which the SP
// does not serve.
type homeWhenUntracked struct{ http.ResponseWriter }

func (h homeWhenUntracked) WriteHeader(status int) {
	if status == http.StatusFound && untracked(h.Header().Get("Location")) {
		h.Header().Set("Location", "/")
	}
	h.ResponseWriter.WriteHeader(status)
}

// untracked is a redirect to a request index (made absolute under /saml/ by
// net/http) or off the site by a scheme-relative URL.
func untracked(loc string) bool {
	return strings.HasPrefix(loc, "/saml/") || strings.HasPrefix(loc, "//") || (!strings.HasPrefix(loc, "/") && !strings.Contains(loc, "://"))
}

// signOut ends the SP's session and goes home (which asks the IdP again).
func (s *reloadingSP) signOut(w http.ResponseWriter, r *http.Request) {
	m, err := s.current()
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	_ = m.Session.DeleteSession(w, r)
	http.Redirect(w, r, "/", http.StatusFound)
}

// reloadingSP rebuilds the samlsp middleware when the Secret's files change.
type reloadingSP struct {
	dir      string
	url      url.URL
	entityID string

	mu      sync.Mutex
	files   []byte
	handler *samlsp.Middleware
}

func (s *reloadingSP) serve(w http.ResponseWriter, r *http.Request, page http.HandlerFunc) {
	m, err := s.current()
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	if page == nil {
		m.ServeHTTP(w, r)
		return
	}
	m.RequireAccount(page).ServeHTTP(w, r)
}

func (s *reloadingSP) read(name string) []byte {
	b, _ := os.ReadFile(filepath.Join(s.dir, name))
	return b
}

// current returns the middleware for the files as they are now. Sessions
// are signed with the SP key, so a renewed key pair ends them: users sign in
// again.
func (s *reloadingSP) current() (*samlsp.Middleware, error) {
	metadata, certPEM, keyPEM := s.read("idp-metadata.xml"), s.read("tls.crt"), s.read("tls.key")
	files := bytes.Join([][]byte{metadata, certPEM, keyPEM}, []byte{0})
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.handler != nil && bytes.Equal(files, s.files) {
		return s.handler, nil
	}
	idp, err := samlsp.ParseMetadata(metadata)
	if err != nil {
		return nil, fmt.Errorf("reading %s/idp-metadata.xml: %w", s.dir, err)
	}
	opts := samlsp.Options{URL: s.url, EntityID: s.entityID, IDPMetadata: idp, AllowIDPInitiated: true, DefaultRedirectURI: "/"}
	if len(certPEM) > 0 {
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, fmt.Errorf("reading the SP key pair: %w", err)
		}
		key, ok := pair.PrivateKey.(*rsa.PrivateKey)
		if !ok {
			return nil, errors.New("the SP key must be RSA")
		}
		cert, err := x509.ParseCertificate(pair.Certificate[0])
		if err != nil {
			return nil, err
		}
		opts.Key, opts.Certificate, opts.SignRequest = key, cert, true
	}
	if opts.Key == nil {
		return nil, errors.New("no SP key: samlsp needs one to sign its session tokens; give the app a signingCertificate")
	}
	m, err := samlsp.New(opts)
	if err != nil {
		return nil, err
	}
	m.RequestTracker = requestTracker(opts, &m.ServiceProvider)
	if s.handler != nil {
		log.Printf("saml-sp: reloaded the IdP from %s", s.dir)
	}
	s.handler, s.files = m, files
	return m, nil
}
