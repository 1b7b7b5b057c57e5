// Command saml-sp is an example service provider configured only from the
// files of an OktaSAMLApp's connection Secret (mounted as a volume, or
// written to a directory): idp-metadata.xml, and tls.crt/tls.key when the
// app signs its AuthnRequests. It reloads them when they change, as a
// workload must during a signing key rotation. Its pages show who signed
// in and with which attributes (JSON when asked for with Accept), and sign
// out, through Okta's single logout when the app configures it.
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
	"html/template"
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
	certFile := flag.String("tls-cert-file", "", "Serve HTTPS with this certificate (PEM); needs --tls-key-file.")
	keyFile := flag.String("tls-key-file", "", "The private key (PEM) of --tls-cert-file.")
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
	log.Printf("saml-sp: serving %s on %s with the IdP from %s", root, *addr, *dir)
	srv := &http.Server{Addr: *addr, Handler: sp.routes(), ReadHeaderTimeout: 10 * time.Second}
	if *certFile != "" {
		log.Fatal(srv.ListenAndServeTLS(*certFile, *keyFile))
	}
	log.Fatal(srv.ListenAndServe())
}

// routes are the SP's pages: crewjam's metadata and ACS, single logout,
// sign-out, and every other path a page that needs a signed-in person.
func (s *reloadingSP) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/saml/slo", s.singleLogout)
	mux.HandleFunc("/saml/", func(w http.ResponseWriter, r *http.Request) { s.serve(homeWhenUntracked{ResponseWriter: w}, r, nil) })
	mux.HandleFunc("/logout", s.signOut)
	mux.HandleFunc("/signed-out", signedOut)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { s.serve(w, r, whoAmI) })
	return mux
}

var pages = template.Must(template.New("pages").Parse(`
{{define "top"}}<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Example SP</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:640px;margin:48px auto;color:#1d1d21}
table{border-collapse:collapse}th,td{text-align:left;padding:4px 12px 4px 0;border-bottom:1px solid #e6e6ea}
button,.button{padding:8px 16px;border:0;border-radius:4px;background:#1662dd;color:#fff;font:inherit;text-decoration:none}</style>
</head><body><h1>Example SP</h1>{{end}}
{{define "home"}}{{template "top"}}
<p>Signed in as <strong id="subject">{{.Subject}}</strong> through Okta.</p>
<p>You asked for <code id="path">{{.Path}}</code>.</p>
<h2>Attributes</h2>
<table id="attributes">{{range $name, $values := .Attributes}}<tr><th>{{$name}}</th><td>{{range $i, $v := $values}}{{if $i}}, {{end}}{{$v}}{{end}}</td></tr>{{end}}</table>
<form method="post" action="/logout"><p><button type="submit" id="signout">Sign out</button></p></form>
</body></html>{{end}}
{{define "signed-out"}}{{template "top"}}
<p id="signed-out">You are signed out{{if .}} of the Example SP and of Okta{{end}}.</p>
<p><a class="button" id="signin" href="/">Sign in again</a></p>
</body></html>{{end}}
`))

// whoAmI is the protected page: who signed in and with which attributes,
// as a page a person reads, or as JSON for a client that asks for it.
func whoAmI(w http.ResponseWriter, r *http.Request) {
	claims := samlsp.SessionFromContext(r.Context()).(samlsp.JWTSessionClaims)
	w.Header().Set("Cache-Control", "no-store")
	if strings.Contains(r.Header.Get("Accept"), "application/json") {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"subject": claims.Subject, "attributes": claims.Attributes})
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = pages.ExecuteTemplate(w, "home", map[string]any{"Subject": claims.Subject, "Attributes": claims.Attributes, "Path": r.URL.RequestURI()})
}

// signedOut is where a sign-out ends; ?slo=1 when Okta's session ended too.
func signedOut(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = pages.ExecuteTemplate(w, "signed-out", r.URL.Query().Get("slo") == "1")
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
	codec := samlsp.DefaultTrackedRequestCodec(opts) // the signed token in the cookie expires too
	codec.MaxAge = trackingLifetime
	t.Codec, t.MaxAge, t.SameSite = codec, trackingLifetime, http.SameSiteLaxMode
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

// signOut ends the SP's session. When the IdP offers single logout, it
// then sends the person to Okta with a signed LogoutRequest, so Okta's
// session ends too and the next visit asks for a password again.
func (s *reloadingSP) signOut(w http.ResponseWriter, r *http.Request) {
	m, err := s.current()
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	session, _ := m.Session.GetSession(r)
	_ = m.Session.DeleteSession(w, r)
	claims, signedIn := session.(samlsp.JWTSessionClaims)
	if !signedIn || m.ServiceProvider.GetSLOBindingLocation(saml.HTTPPostBinding) == "" {
		http.Redirect(w, r, "/signed-out", http.StatusFound)
		return
	}
	form, err := m.ServiceProvider.MakePostLogoutRequest(claims.Subject, "")
	if err != nil {
		http.Error(w, "making the logout request: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(form)
}

// singleLogout takes Okta's LogoutResponse: signed by the IdP, for this SP.
func (s *reloadingSP) singleLogout(w http.ResponseWriter, r *http.Request) {
	m, err := s.current()
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	if err := m.ServiceProvider.ValidateLogoutResponseRequest(r); err != nil {
		log.Printf("saml-sp: refused a logout response: %v", err)
		http.Error(w, "The logout response from the IdP was refused.", http.StatusBadRequest)
		return
	}
	http.Redirect(w, r, "/signed-out?slo=1", http.StatusFound)
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
