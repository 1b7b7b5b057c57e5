package emulator

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// idp is an inbound SAML 2.0 identity provider (the hub side of hub/spoke
// federation). Its body is kept in Okta's answer shape.
type idp struct {
	id, status           string
	created, lastUpdated time.Time
	body                 map[string]any
	spEntity             string // the audience Okta expects from this IdP
	signingKid           string
	// linked are the hub users this IdP signs in (created by it or linked).
	linked map[string]bool
}

// jwk is an IdP trust key: a certificate the org uses to verify an IdP.
type jwk struct {
	kid     string
	created time.Time
	cert    *x509.Certificate
}

func (k *jwk) render() map[string]any {
	out := jwkOf(k.kid, k.created, k.cert.NotAfter, k.cert.Raw, k.cert.PublicKey.(*rsa.PublicKey))
	out["alg"] = "RSA"
	// Okta echoes the certificate as it was sent, line breaks included.
	out["x5c"] = []string{wrap76(base64.StdEncoding.EncodeToString(k.cert.Raw))}
	return out
}

func (s *Server) newUUID() string {
	b := make([]byte, 16)
	for i := range b {
		b[i] = byte(s.rand.UintN(256))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func (s *Server) createIdPKey(w http.ResponseWriter, r *http.Request) {
	var req struct {
		X5c []string `json:"x5c"`
	}
	if !s.decodeBody(w, r, &req) {
		return
	}
	if len(req.X5c) != 1 || !validCertificate(req.X5c[0]) {
		s.writeError(w, http.StatusBadRequest, errValidation("x5c", "x5c: exactly one valid base64 DER certificate is required"))
		return
	}
	der, _ := base64.StdEncoding.DecodeString(strings.ReplaceAll(req.X5c[0], "\n", ""))
	cert, _ := x509.ParseCertificate(der)
	if _, ok := cert.PublicKey.(*rsa.PublicKey); !ok {
		s.writeError(w, http.StatusBadRequest, errValidation("x5c", "x5c: the certificate must hold an RSA key"))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := &jwk{kid: s.newUUID(), created: s.now(), cert: cert}
	s.org.idpKeys.put(k.kid, k)
	writeJSON(w, http.StatusOK, k.render())
}

func (s *Server) lookupIdPKey(w http.ResponseWriter, r *http.Request) (*jwk, bool) {
	k, ok := s.org.idpKeys.get(r.PathValue("kid"))
	if !ok {
		s.writeError(w, http.StatusNotFound, errNotFound(r.PathValue("kid"), "IdpKey"))
	}
	return k, ok
}

func (s *Server) getIdPKey(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if k, ok := s.lookupIdPKey(w, r); ok {
		writeJSON(w, http.StatusOK, k.render())
	}
}

func (s *Server) listIdPKeys(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []any{}
	for _, k := range s.org.idpKeys.list() {
		out = append(out, k.render())
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) deleteIdPKey(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.lookupIdPKey(w, r)
	if !ok {
		return
	}
	for _, p := range s.org.idps.list() {
		if trustKid(p.body) == k.kid {
			s.writeError(w, http.StatusBadRequest, errValidation("kid", "kid: the key is in use by identity provider "+p.id))
			return
		}
	}
	s.org.idpKeys.remove(k.kid)
	w.WriteHeader(http.StatusNoContent)
}

// idpRequest holds the parts of an IdP body the emulator checks; the rest
// is kept as sent.
type idpRequest struct {
	Name     string `json:"name"`
	Type     string `json:"type"`
	Protocol struct {
		Type      string `json:"type"`
		Endpoints struct {
			SSO struct {
				URL string `json:"url"`
			} `json:"sso"`
		} `json:"endpoints"`
		Credentials struct {
			Trust struct {
				Issuer string `json:"issuer"`
				Kid    string `json:"kid"`
			} `json:"trust"`
		} `json:"credentials"`
	} `json:"protocol"`
}

func trustKid(body map[string]any) string {
	v, _ := dig(body, "protocol", "credentials", "trust", "kid").(string)
	return v
}

// dig walks nested JSON objects.
func dig(m map[string]any, path ...string) any {
	var cur any = m
	for _, p := range path {
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = obj[p]
	}
	return cur
}

// ensure returns the object at key, creating it.
func ensure(m map[string]any, key string) map[string]any {
	if obj, ok := m[key].(map[string]any); ok {
		return obj
	}
	obj := map[string]any{}
	m[key] = obj
	return obj
}

func setIfMissing(m map[string]any, key string, v any) {
	if _, ok := m[key]; !ok {
		m[key] = v
	}
}

// validateIdP checks an IdP body; callers hold s.mu.
func (s *Server) validateIdP(raw []byte) (map[string]any, *apiError) {
	var req idpRequest
	var body map[string]any
	if json.Unmarshal(raw, &req) != nil || json.Unmarshal(raw, &body) != nil {
		return nil, &errBadJSON
	}
	var causes []string
	if strings.TrimSpace(req.Name) == "" {
		causes = append(causes, "name: The field cannot be left blank")
	}
	if req.Type != "SAML2" || req.Protocol.Type != "SAML2" {
		causes = append(causes, "type: this org supports SAML2 identity providers")
	}
	if !validURL(req.Protocol.Endpoints.SSO.URL) {
		causes = append(causes, "protocol.endpoints.sso.url: a valid URL is required")
	}
	if req.Protocol.Credentials.Trust.Issuer == "" {
		causes = append(causes, "protocol.credentials.trust.issuer: required")
	}
	if _, ok := s.org.idpKeys.get(req.Protocol.Credentials.Trust.Kid); !ok {
		causes = append(causes, "protocol.credentials.trust.kid: no IdP key "+req.Protocol.Credentials.Trust.Kid)
	}
	if len(causes) > 0 {
		e := errValidation("idp", causes...)
		return nil, &e
	}
	delete(body, "id")
	delete(body, "_links")
	return body, nil
}

// fillIdPDefaults adds the server-side fields Okta answers with.
func (s *Server) fillIdPDefaults(p *idp) {
	b := p.body
	trust := ensure(ensure(ensure(b, "protocol"), "credentials"), "trust")
	trust["audience"] = p.spEntity
	setIfMissing(trust, "revocation", nil)
	setIfMissing(trust, "revocationCacheLifetime", 0)
	ensure(ensure(b, "protocol"), "credentials")["signing"] = map[string]any{"kid": p.signingKid}
	policy := ensure(b, "policy")
	setIfMissing(ensure(policy, "accountLink"), "filter", nil)
	subject := ensure(policy, "subject")
	setIfMissing(subject, "filter", nil)
	setIfMissing(subject, "matchAttribute", nil)
	setIfMissing(policy, "maxClockSkew", 0)
	setIfMissing(policy, "transformedUsernameMatchingEnabled", false)
	if s.answersSince(releaseUniversalLogout) {
		setIfMissing(policy, "trustClaims", false) // whether Okta trusts the IdP's AMR claims
	}
	delete(b, "issuerMode")
}

func (s *Server) renderIdP(p *idp) map[string]any {
	out := map[string]any{}
	for k, v := range p.body {
		out[k] = v
	}
	self := s.baseURL + "/api/v1/idps/" + p.id
	allow := func(method string) map[string]any { return map[string]any{"allow": []string{method}} }
	links := map[string]any{
		"metadata": map[string]any{"href": self + "/metadata.xml", "type": "application/xml", "hints": allow("GET")},
		"acs":      map[string]any{"href": s.baseURL + "/sso/saml2/" + p.id, "type": "application/xml", "hints": allow("POST")},
		"users":    map[string]any{"href": self + "/users", "hints": allow("GET")},
	}
	if p.status == "ACTIVE" {
		links["deactivate"] = map[string]any{"href": self + "/lifecycle/deactivate", "hints": allow("POST")}
	} else {
		links["activate"] = map[string]any{"href": self + "/lifecycle/activate", "hints": allow("POST")}
	}
	out["id"], out["status"] = p.id, p.status
	out["created"], out["lastUpdated"] = timestamp(p.created), timestamp(p.lastUpdated)
	out["_links"] = links
	return out
}

func (s *Server) createIdP(w http.ResponseWriter, r *http.Request) {
	raw, err := readAll(r)
	if err != nil {
		s.writeError(w, http.StatusBadRequest, errBadJSON)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	body, e := s.validateIdP(raw)
	if e != nil {
		s.writeError(w, http.StatusBadRequest, *e)
		return
	}
	now := s.now()
	p := &idp{id: s.newID("0oa"), status: "ACTIVE", created: now, lastUpdated: now, body: body, linked: map[string]bool{},
		spEntity:   "https://www.okta.com/saml2/service-provider/sp" + strings.ToLower(s.randomString(18)),
		signingKid: base64.RawURLEncoding.EncodeToString([]byte(s.randomString(32)))}
	if status, _ := body["status"].(string); status == "INACTIVE" {
		p.status = "INACTIVE"
	}
	delete(body, "status")
	s.fillIdPDefaults(p)
	s.org.idps.put(p.id, p)
	writeJSON(w, http.StatusOK, s.renderIdP(p))
}

func (s *Server) lookupIdP(w http.ResponseWriter, r *http.Request) (*idp, bool) {
	p, ok := s.org.idps.get(r.PathValue("idpID"))
	if !ok {
		s.writeError(w, http.StatusNotFound, errNotFound(r.PathValue("idpID"), "IdentityProvider"))
	}
	return p, ok
}

func (s *Server) getIdP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.lookupIdP(w, r); ok {
		writeJSON(w, http.StatusOK, s.renderIdP(p))
	}
}

func (s *Server) listIdPs(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := strings.ToLower(r.URL.Query().Get("q"))
	var matched []*idp
	for _, p := range s.org.idps.list() {
		if name, _ := p.body["name"].(string); q == "" || strings.HasPrefix(strings.ToLower(name), q) {
			matched = append(matched, p)
		}
	}
	writeList(s, w, r, matched, 20, 200, func(p *idp) string { return p.id },
		s.renderIdP)
}

func (s *Server) replaceIdP(w http.ResponseWriter, r *http.Request) {
	raw, err := readAll(r)
	if err != nil {
		s.writeError(w, http.StatusBadRequest, errBadJSON)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.lookupIdP(w, r)
	if !ok {
		return
	}
	body, e := s.validateIdP(raw)
	if e != nil {
		s.writeError(w, http.StatusBadRequest, *e)
		return
	}
	delete(body, "status")
	p.body, p.lastUpdated = body, s.now()
	s.fillIdPDefaults(p)
	out := s.renderIdP(p)
	out["created"] = nil // Okta answers a replace with created: null
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) setIdPStatus(w http.ResponseWriter, r *http.Request, status string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.lookupIdP(w, r)
	if !ok {
		return
	}
	p.status, p.lastUpdated = status, s.now()
	writeJSON(w, http.StatusOK, s.renderIdP(p))
}

func (s *Server) activateIdP(w http.ResponseWriter, r *http.Request) { s.setIdPStatus(w, r, "ACTIVE") }

func (s *Server) deactivateIdP(w http.ResponseWriter, r *http.Request) {
	s.setIdPStatus(w, r, "INACTIVE")
}

func (s *Server) deleteIdP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.lookupIdP(w, r)
	if !ok {
		return
	}
	s.org.idps.remove(p.id)
	w.WriteHeader(http.StatusNoContent)
}
