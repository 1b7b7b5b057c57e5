package emulator

import (
	"bytes"
	"compress/flate"
	"crypto"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // SAML's RSA-SHA1 request signatures must be verifiable
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/beevik/etree"
	"github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"
)

// The emulator is a real SAML 2.0 IdP for every app: SP-initiated requests
// (HTTP-Redirect and HTTP-POST, signatures verified when the app requires
// them) and IdP-initiated logins get a SAML Response signed with the app's
// active key, shaped by the app's settings.

// sessionCookie names the org's session cookie. Cookies are kept per host,
// not per port, so two orgs on one host (a hub and a spoke on 127.0.0.1)
// need a cookie each.
func (s *Server) sessionCookie() string { return "okta_emulator_sid_" + s.cfg.OrgName }

// samlRequest is an AuthnRequest as received, kept while the user signs in.
type samlRequest struct {
	// fromURI is where a sign-in that no app asked for goes afterwards
	// (My Apps, or a page of the org); then appID is empty.
	fromURI string
	// startURI is where this sign-in started, when it can start again
	// there (a GET): the page a refused person signs out to.
	startURI   string
	appID      string
	binding    string // saml.HTTPRedirectBinding or saml.HTTPPostBinding
	rawQuery   string // redirect binding: the signed query, as sent
	xml        []byte
	relayState string
	sigAlg     string
	signature  string
}

// samlError answers a browser with a page saying what went wrong, and a
// sign-out when a session is open.
func (s *Server) samlError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	_, signedIn := s.sessionUser(r)
	s.refuse(w, status, refusalTitles[status], msg, userHome, signedIn)
}

var refusalTitles = map[int]string{
	http.StatusBadRequest:          "Something went wrong",
	http.StatusUnauthorized:        "Unable to sign in",
	http.StatusForbidden:           "You can't access this app",
	http.StatusNotFound:            "Page not found",
	http.StatusInternalServerError: "Something went wrong",
}

// samlSSO receives SP-initiated AuthnRequests at the app's IdP SSO URL. A
// GET with no SAMLRequest is an IdP-initiated login carrying RelayState, as
// a spoke's bookmark tile for a hub app sends.
func (s *Server) samlSSO(w http.ResponseWriter, r *http.Request) {
	req, err := readSAMLRequest(r)
	if r.Method == http.MethodGet && r.URL.Query().Get("SAMLRequest") == "" {
		req, err = &samlRequest{relayState: r.URL.Query().Get("RelayState")}, nil
	}
	if err == nil && r.Method == http.MethodGet {
		req.startURI = r.URL.RequestURI() // a GET can start again after a sign-out
	}
	if err != nil {
		s.samlError(w, r, http.StatusBadRequest, "Invalid SAML request: "+err.Error())
		return
	}
	s.mu.Lock()
	a, ok := s.appByExternalKey(r.PathValue("exk"))
	if ok {
		req.appID = a.id
	}
	s.mu.Unlock()
	if !ok || a.family != familySAML {
		s.samlError(w, r, http.StatusNotFound, "No SAML app answers at this SSO URL")
		return
	}
	s.completeLogin(w, r, req)
}

// samlIdPInitiated is the app tile: a login with no request; a bookmark
// app's tile opens its URL.
func (s *Server) samlIdPInitiated(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	a, ok := s.org.apps.get(r.PathValue("appID"))
	s.mu.Unlock()
	if ok && a.family == familyBookmark {
		target, _ := a.settingsApp["url"].(string)
		http.Redirect(w, r, target, http.StatusFound)
		return
	}
	if ok && a.family != familySAML {
		s.samlError(w, r, http.StatusBadRequest, "This app signs in with "+a.signOnMode+", which the local org does not emulate; only its SAML and bookmark apps sign users in")
		return
	}
	s.completeLogin(w, r, &samlRequest{appID: r.PathValue("appID"), startURI: r.URL.RequestURI()})
}

// completeLogin signs the user in (session cookie, HTTP Basic credentials,
// or the login form) and posts the SAML Response to the SP.
func (s *Server) completeLogin(w http.ResponseWriter, r *http.Request, req *samlRequest) {
	u, ok := s.sessionUser(r)
	if !ok {
		if username, password, basic := r.BasicAuth(); basic {
			var failure string
			if u, failure = s.authenticate(strings.TrimSpace(username), password); failure != "" {
				s.samlError(w, r, http.StatusUnauthorized, failure)
				return
			}
			ok = true
		}
	}
	if !ok {
		s.showLoginForm(w, req)
		return
	}
	s.postResponse(w, r, req, u)
}

func (s *Server) postResponse(w http.ResponseWriter, r *http.Request, req *samlRequest, u *user) {
	s.mu.Lock()
	form, status, err := s.buildResponseForm(req, u)
	s.mu.Unlock()
	if err != nil {
		s.refuse(w, status, refusalTitles[status], err.Error(), req.startURI, true)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = responseForm.Execute(w, form)
}

var responseForm = template.Must(template.New("saml-response").Parse(`<!DOCTYPE html>
<html><body onload="document.forms[0].submit()">
<form method="post" action="{{.URL}}">
<input type="hidden" name="SAMLResponse" value="{{.SAMLResponse}}">
{{if .RelayState}}<input type="hidden" name="RelayState" value="{{.RelayState}}">{{end}}
<noscript><button type="submit">Continue</button></noscript>
</form></body></html>`))

func (s *Server) appByExternalKey(exk string) (*app, bool) {
	for _, a := range s.org.apps.list() {
		if a.externalKey == exk {
			return a, true
		}
	}
	return nil, false
}

// readSAMLRequest decodes an AuthnRequest from either binding.
func readSAMLRequest(r *http.Request) (*samlRequest, error) {
	req := &samlRequest{}
	switch r.Method {
	case http.MethodGet:
		q := r.URL.Query()
		raw, err := base64.StdEncoding.DecodeString(q.Get("SAMLRequest"))
		if err != nil {
			return nil, fmt.Errorf("SAMLRequest is not base64")
		}
		req.xml, err = io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(raw)), 1<<20))
		if err != nil {
			return nil, fmt.Errorf("SAMLRequest is not deflated")
		}
		req.binding, req.rawQuery = saml.HTTPRedirectBinding, r.URL.RawQuery
		req.relayState, req.sigAlg, req.signature = q.Get("RelayState"), q.Get("SigAlg"), q.Get("Signature")
	case http.MethodPost:
		if err := r.ParseForm(); err != nil {
			return nil, err
		}
		raw, err := base64.StdEncoding.DecodeString(r.PostForm.Get("SAMLRequest"))
		if err != nil {
			return nil, fmt.Errorf("SAMLRequest is not base64")
		}
		req.xml, req.binding, req.relayState = raw, saml.HTTPPostBinding, r.PostForm.Get("RelayState")
	}
	if len(req.xml) == 0 {
		return nil, fmt.Errorf("no SAMLRequest")
	}
	return req, nil
}

// buildResponseForm checks the request against the app and makes the signed
// SAML Response. It returns an HTTP status with each refusal. Callers hold s.mu.
func (s *Server) buildResponseForm(req *samlRequest, u *user) (saml.IdpAuthnRequestForm, int, error) {
	var form saml.IdpAuthnRequestForm
	a, ok := s.org.apps.get(req.appID)
	if !ok {
		return form, http.StatusNotFound, fmt.Errorf("the application no longer exists")
	}
	if a.status != "ACTIVE" {
		return form, http.StatusForbidden, fmt.Errorf("the application is inactive")
	}
	if !s.hasAccess(a, u) {
		return form, http.StatusForbidden, fmt.Errorf("user %s is not assigned to this application", u.login())
	}
	sp := a.serviceProvider()
	var authn saml.AuthnRequest
	relayState := req.relayState
	if req.xml != nil {
		if err := s.checkAuthnRequest(a, req, &authn); err != nil {
			return form, http.StatusBadRequest, err
		}
	} else if relayState == "" && a.signOn != nil {
		relayState = a.signOn.DefaultRelayState
	}
	acs := sp.acsFor(authn)
	doc, err := s.signedResponse(a, u, authn.ID, acs)
	if err != nil {
		return form, http.StatusInternalServerError, err
	}
	return saml.IdpAuthnRequestForm{URL: acs, SAMLResponse: base64.StdEncoding.EncodeToString(doc), RelayState: relayState}, 0, nil
}

// hasAccess tells whether a user is assigned to the app, directly or by group.
func (s *Server) hasAccess(a *app, u *user) bool {
	for _, v := range s.appUsers(a) {
		if v.user.id == u.id {
			return true
		}
	}
	return false
}

// spSettings is what the IdP needs of an app's SP side.
type spSettings struct {
	acs, audience, recipient, destination string
	acsByIndex                            map[string]string
	acsAllowed                            map[string]bool
}

func (a *app) serviceProvider() spSettings {
	sp := spSettings{acsByIndex: map[string]string{}, acsAllowed: map[string]bool{}}
	if so := a.signOn; so != nil {
		sp.acs, sp.audience, sp.recipient, sp.destination = so.SSOAcsURL, so.Audience, so.Recipient, so.Destination
		if so.AllowMultipleAcsEndpoints {
			for _, e := range so.AcsEndpoints {
				sp.acsByIndex[fmt.Sprint(e.Index)] = e.URL
				sp.acsAllowed[e.URL] = true
			}
		}
		return sp
	}
	entry := catalog[a.name]
	sp.acs, _ = a.settingsApp[entry.acsSetting].(string)
	sp.audience, _ = a.settingsApp[entry.audienceSetting].(string)
	sp.recipient, sp.destination = sp.acs, sp.acs
	return sp
}

// acsFor picks where to post: a requested ACS the app allows, else its own.
func (sp spSettings) acsFor(authn saml.AuthnRequest) string {
	if u, ok := sp.acsByIndex[authn.AssertionConsumerServiceIndex]; ok {
		return u
	}
	if sp.acsAllowed[authn.AssertionConsumerServiceURL] {
		return authn.AssertionConsumerServiceURL
	}
	return sp.acs
}

// checkAuthnRequest parses and validates an AuthnRequest the way Okta does.
func (s *Server) checkAuthnRequest(a *app, req *samlRequest, authn *saml.AuthnRequest) error {
	if err := xml.Unmarshal(req.xml, authn); err != nil {
		return fmt.Errorf("the SAML request is not an AuthnRequest: %v", err)
	}
	if authn.Version != "2.0" {
		return fmt.Errorf("the SAML request version must be 2.0")
	}
	ssoURL := s.ssoURLOf(a)
	if authn.Destination != "" && authn.Destination != ssoURL {
		return fmt.Errorf("the SAML request was sent to %s but names destination %s", ssoURL, authn.Destination)
	}
	if age := s.now().Sub(authn.IssueInstant); age > 5*time.Minute || age < -5*time.Minute {
		return fmt.Errorf("the SAML request was issued at %s, outside the allowed clock skew", authn.IssueInstant.Format(time.RFC3339))
	}
	if sp := a.serviceProvider(); authn.Issuer == nil || authn.Issuer.Value != sp.audience {
		return fmt.Errorf("the SAML request issuer does not match the app's audience %q", sp.audience)
	}
	if !a.requestsSigned() {
		return nil
	}
	cert, err := spCertificateOf(a)
	if err != nil {
		return err
	}
	if req.binding == saml.HTTPRedirectBinding {
		return verifyRedirectSignature(req, cert)
	}
	return verifyPostSignature(req.xml, cert)
}

func spCertificateOf(a *app) (*x509.Certificate, error) {
	der, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(a.signOn.SPCertificate.X5c[0], "\n", ""))
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

// rawParam returns a query parameter exactly as it was sent, for signature
// checks over the URL-encoded octets (SAML bindings §3.4.4.1).
func rawParam(rawQuery, name string) (string, bool) {
	for _, part := range strings.Split(rawQuery, "&") {
		if k, v, _ := strings.Cut(part, "="); k == name {
			return v, true
		}
	}
	return "", false
}

func verifyRedirectSignature(req *samlRequest, cert *x509.Certificate) error {
	if req.signature == "" || req.sigAlg == "" {
		return fmt.Errorf("the app requires signed SAML requests and this one is not signed")
	}
	signed := ""
	for _, name := range []string{"SAMLRequest", "RelayState", "SigAlg"} {
		if v, ok := rawParam(req.rawQuery, name); ok {
			if signed != "" {
				signed += "&"
			}
			signed += name + "=" + v
		}
	}
	sig, err := base64.StdEncoding.DecodeString(req.signature)
	if err != nil {
		return fmt.Errorf("the SAML request signature is not base64")
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return fmt.Errorf("the SP certificate does not hold an RSA key")
	}
	var hash crypto.Hash
	var digest []byte
	switch req.sigAlg {
	case dsig.RSASHA256SignatureMethod:
		sum := sha256.Sum256([]byte(signed))
		hash, digest = crypto.SHA256, sum[:]
	case dsig.RSASHA1SignatureMethod:
		sum := sha1.Sum([]byte(signed)) //nolint:gosec // see import
		hash, digest = crypto.SHA1, sum[:]
	default:
		return fmt.Errorf("unsupported SAML request signature algorithm %s", req.sigAlg)
	}
	if err := rsa.VerifyPKCS1v15(pub, hash, digest, sig); err != nil {
		return fmt.Errorf("the SAML request signature is invalid")
	}
	return nil
}

func verifyPostSignature(raw []byte, cert *x509.Certificate) error {
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(raw); err != nil {
		return fmt.Errorf("the SAML request is not XML")
	}
	if doc.Root() == nil || doc.Root().FindElement("./Signature") == nil {
		return fmt.Errorf("the app requires signed SAML requests and this one is not signed")
	}
	ctx := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{cert}})
	if _, err := ctx.Validate(doc.Root()); err != nil {
		return fmt.Errorf("the SAML request signature is invalid")
	}
	return nil
}

var (
	nameIDTemplatePattern = regexp.MustCompile(`^\$\{(?:source|user)\.([A-Za-z0-9_]+)\}$`)
	signatureMethods      = map[string]string{"RSA_SHA256": dsig.RSASHA256SignatureMethod, "RSA_SHA1": dsig.RSASHA1SignatureMethod}
	digestMethods         = map[string]crypto.Hash{"SHA256": crypto.SHA256, "SHA1": crypto.SHA1}
)

// signedResponse makes the SAML Response for a user, signing the response
// and/or the assertion as the app asks, with its algorithms.
func (s *Server) signedResponse(a *app, u *user, inResponseTo, acs string) ([]byte, error) {
	key := a.activeKey()
	if key == nil {
		return nil, fmt.Errorf("the app has no active signing key")
	}
	so := a.signOn
	if so == nil { // catalog apps: Okta's defaults
		so = &samlSignOn{SubjectNameIDTemplate: "${source.login}", SubjectNameIDFormat: nameIDUnspecified,
			ResponseSigned: true, AssertionSigned: true, SignatureAlgorithm: "RSA_SHA256", DigestAlgorithm: "SHA256",
			AuthnContextClassRef: "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport",
			AttributeStatements:  catalog[a.name].attributes}
	}
	sp := a.serviceProvider()
	now := s.now()
	assertion := &saml.Assertion{
		ID: "id" + s.randomString(30), IssueInstant: now, Version: "2.0",
		Issuer: saml.Issuer{Format: "urn:oasis:names:tc:SAML:2.0:nameid-format:entity", Value: a.idpIssuer()},
		Subject: &saml.Subject{
			NameID: &saml.NameID{Format: so.SubjectNameIDFormat, Value: evalTemplate(so.SubjectNameIDTemplate, u)},
			SubjectConfirmations: []saml.SubjectConfirmation{{
				Method: "urn:oasis:names:tc:SAML:2.0:cm:bearer",
				SubjectConfirmationData: &saml.SubjectConfirmationData{
					InResponseTo: inResponseTo, NotOnOrAfter: now.Add(5 * time.Minute), Recipient: sp.recipient,
				},
			}},
		},
		Conditions: &saml.Conditions{
			NotBefore: now.Add(-5 * time.Minute), NotOnOrAfter: now.Add(5 * time.Minute),
			AudienceRestrictions: []saml.AudienceRestriction{{Audience: saml.Audience{Value: sp.audience}}},
		},
		AuthnStatements: []saml.AuthnStatement{{
			AuthnInstant: now, SessionIndex: "id" + s.randomString(20),
			AuthnContext: saml.AuthnContext{AuthnContextClassRef: &saml.AuthnContextClassRef{Value: so.AuthnContextClassRef}},
		}},
	}
	if attrs := s.attributesFor(so, u); len(attrs) > 0 {
		assertion.AttributeStatements = []saml.AttributeStatement{{Attributes: attrs}}
	}
	signer, err := signingContext(key, so)
	if err != nil {
		return nil, err
	}
	assertionEl := assertion.Element()
	if so.AssertionSigned {
		if assertionEl, err = signedElement(signer, assertionEl, func(sig *etree.Element) *etree.Element {
			assertion.Signature = sig
			return assertion.Element()
		}); err != nil {
			return nil, err
		}
	}
	response := &saml.Response{
		ID: "id" + s.randomString(30), InResponseTo: inResponseTo, IssueInstant: now, Version: "2.0",
		Destination: sp.destination,
		Issuer:      &saml.Issuer{Format: "urn:oasis:names:tc:SAML:2.0:nameid-format:entity", Value: a.idpIssuer()},
		Status:      saml.Status{StatusCode: saml.StatusCode{Value: saml.StatusSuccess}},
	}
	responseEl := response.Element()
	responseEl.AddChild(assertionEl)
	if so.ResponseSigned {
		if responseEl, err = signedElement(signer, responseEl, func(sig *etree.Element) *etree.Element {
			response.Signature = sig
			el := response.Element()
			el.AddChild(assertionEl)
			return el
		}); err != nil {
			return nil, err
		}
	}
	doc := etree.NewDocument()
	doc.SetRoot(responseEl)
	return doc.WriteToBytes()
}

func signingContext(k *signingKey, so *samlSignOn) (*dsig.SigningContext, error) {
	ctx := dsig.NewDefaultSigningContext(dsig.TLSCertKeyStore(tls.Certificate{
		Certificate: [][]byte{k.cert.Raw}, PrivateKey: k.key, Leaf: k.cert,
	}))
	if err := ctx.SetSignatureMethod(signatureMethods[so.SignatureAlgorithm]); err != nil {
		return nil, err
	}
	ctx.Hash = digestMethods[so.DigestAlgorithm]
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	return ctx, nil
}

// signedElement signs el and re-renders it with the signature in the place
// the SAML schema puts it (after Issuer), as rerender does.
func signedElement(ctx *dsig.SigningContext, el *etree.Element, rerender func(sig *etree.Element) *etree.Element) (*etree.Element, error) {
	signed, err := ctx.SignEnveloped(el)
	if err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	children := signed.ChildElements()
	return rerender(children[len(children)-1]), nil
}

// evalTemplate evaluates a username template such as ${source.login}.
func evalTemplate(tmpl string, u *user) string {
	if m := nameIDTemplatePattern.FindStringSubmatch(tmpl); m != nil {
		if v, ok := u.profile[m[1]].(string); ok {
			return v
		}
		return ""
	}
	return u.login()
}

// attributesFor evaluates the app's attribute statements for a user.
func (s *Server) attributesFor(so *samlSignOn, u *user) []saml.Attribute {
	var out []saml.Attribute
	for _, st := range so.AttributeStatements {
		attr := saml.Attribute{Name: st.Name, NameFormat: st.Namespace}
		var values []string
		if st.Type == "GROUP" {
			values = s.matchingGroups(u, st.FilterType, st.FilterValue)
		} else {
			for _, expr := range st.Values {
				values = append(values, evalExpression(expr, u))
			}
		}
		for _, v := range values {
			attr.Values = append(attr.Values, saml.AttributeValue{Type: "xs:string", Value: v})
		}
		out = append(out, attr)
	}
	return out
}

// matchingGroups lists the user's group names that pass a group filter.
func (s *Server) matchingGroups(u *user, filterType, filterValue string) []string {
	var re *regexp.Regexp
	if filterType == "REGEX" {
		re, _ = regexp.Compile("^(?:" + filterValue + ")$")
	}
	var out []string
	for _, g := range s.org.groups.list() {
		if !s.org.isMember(g, u.id) {
			continue
		}
		var match bool
		switch filterType {
		case "STARTS_WITH":
			match = strings.HasPrefix(g.name, filterValue)
		case "EQUALS":
			match = g.name == filterValue
		case "CONTAINS":
			match = strings.Contains(g.name, filterValue)
		case "REGEX":
			match = re != nil && re.MatchString(g.name)
		}
		if match {
			out = append(out, g.name)
		}
	}
	return out
}

// evalExpression evaluates the Okta expressions attribute statements use:
// quoted literals, user.<attribute> (also source. and appuser.), joined by +.
// Anything else is taken as a literal, as Okta shows it.
func evalExpression(expr string, u *user) string {
	var b strings.Builder
	for _, term := range strings.Split(expr, "+") {
		term = strings.TrimSpace(term)
		switch {
		case len(term) >= 2 && term[0] == '"' && term[len(term)-1] == '"':
			b.WriteString(strings.ReplaceAll(term[1:len(term)-1], `\"`, `"`))
		case strings.HasPrefix(term, "user.") || strings.HasPrefix(term, "source.") || strings.HasPrefix(term, "appuser."):
			_, attr, _ := strings.Cut(term, ".")
			if v, ok := u.profile[attr]; ok && v != nil {
				fmt.Fprint(&b, v)
			}
		default:
			return expr
		}
	}
	return b.String()
}

// readAll reads a request body of at most 1 MiB.
func readAll(r *http.Request) ([]byte, error) { return io.ReadAll(io.LimitReader(r.Body, 1<<20)) }

// ssoURLOf is an app's IdP SSO URL (SP-initiated login).
func (s *Server) ssoURLOf(a *app) string {
	return s.baseURL + "/app/" + a.name + "/" + a.externalKey + "/sso/saml"
}
