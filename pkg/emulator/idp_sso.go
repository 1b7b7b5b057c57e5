package emulator

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/beevik/etree"
	"github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"
)

// The hub side of hub and spoke: an IdP's ACS URL takes a SAML Response from
// the spoke, checks it as Okta does (the signature with the trusted key, the
// issuer, the audience, the destination, the clock skew), makes the hub
// username with the IdP's template and filter, matches, links or creates
// the user (just in time, with the IdP's groups), signs the user in to the
// hub, and follows RelayState (a hub app's embed link).

// idpLogin is what a spoke's Response says and how the hub treats it.
type idpLogin struct {
	username, nameID string
	attributes       map[string]string
}

func (s *Server) idpACS(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.samlError(w, r, http.StatusBadRequest, "Invalid form")
		return
	}
	raw, err := base64.StdEncoding.DecodeString(r.PostForm.Get("SAMLResponse"))
	if err != nil || len(raw) == 0 {
		s.samlError(w, r, http.StatusBadRequest, "No SAMLResponse")
		return
	}
	s.mu.Lock()
	u, status, err := s.acceptIdPResponse(r.PathValue("idpID"), raw)
	s.mu.Unlock()
	if err != nil {
		s.samlError(w, r, status, err.Error())
		return
	}
	s.startSession(w, u)
	next := r.PostForm.Get("RelayState")
	if !s.ownURL(next) {
		next = s.baseURL + "/app/UserHome"
	}
	http.Redirect(w, r, next, http.StatusFound)
}

// ownURL: RelayState may only send the user on within this org.
func (s *Server) ownURL(target string) bool {
	u, err := url.Parse(target)
	base, _ := url.Parse(s.baseURL)
	return err == nil && base != nil && target != "" && u.Scheme == base.Scheme && u.Host == base.Host
}

// acceptIdPResponse checks a spoke's Response and returns the hub user it
// signs in. Callers hold s.mu.
func (s *Server) acceptIdPResponse(idpID string, raw []byte) (*user, int, error) {
	p, ok := s.org.idps.get(idpID)
	if !ok || p.status != "ACTIVE" {
		return nil, http.StatusNotFound, fmt.Errorf("no active identity provider answers at this ACS URL")
	}
	key, ok := s.org.idpKeys.get(trustKid(p.body))
	if !ok {
		return nil, http.StatusForbidden, fmt.Errorf("the identity provider has no trusted key")
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(raw); err != nil || doc.Root() == nil {
		return nil, http.StatusBadRequest, fmt.Errorf("the SAML response is not XML")
	}
	assertion, err := verifiedAssertion(doc.Root(), key.cert, responseScope(p.body))
	if err != nil {
		return nil, http.StatusForbidden, err
	}
	login, err := s.checkAssertion(p, doc.Root(), assertion)
	if err != nil {
		return nil, http.StatusForbidden, err
	}
	return s.linkOrCreate(p, login)
}

func responseScope(body map[string]any) string {
	v, _ := dig(body, "protocol", "algorithms", "response", "signature", "scope").(string)
	return v
}

// verifiedAssertion checks the signature the IdP requires (RESPONSE,
// TOKEN for the assertion, or ANY) and returns the assertion it covers.
func verifiedAssertion(response *etree.Element, cert *x509.Certificate, scope string) (*etree.Element, error) {
	ctx := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{cert}})
	if response.FindElement("./Signature") != nil && (scope == "RESPONSE" || scope == "ANY" || scope == "") {
		validated, err := ctx.Validate(response)
		if err != nil {
			return nil, fmt.Errorf("the SAML response's signature is not the trusted key's")
		}
		if a := validated.FindElement("./Assertion"); a != nil {
			return a, nil
		}
	}
	a := response.FindElement("./Assertion")
	if a == nil || a.FindElement("./Signature") == nil || scope == "RESPONSE" {
		return nil, fmt.Errorf("the SAML response is not signed as the identity provider requires (%s)", orText(scope, "ANY"))
	}
	validated, err := ctx.Validate(a)
	if err != nil {
		return nil, fmt.Errorf("the SAML assertion's signature is not the trusted key's")
	}
	return validated, nil
}

// checkAssertion checks issuer, audience, destination and times, and makes
// the hub username. Callers hold s.mu.
func (s *Server) checkAssertion(p *idp, response, assertion *etree.Element) (idpLogin, error) {
	issuer, _ := dig(p.body, "protocol", "credentials", "trust", "issuer").(string)
	if got := text(assertion, "./Issuer"); got != issuer {
		return idpLogin{}, fmt.Errorf("the assertion's issuer %q is not the identity provider's %q", got, issuer)
	}
	if got := text(assertion, "./Conditions/AudienceRestriction/Audience"); got != p.spEntity {
		return idpLogin{}, fmt.Errorf("the assertion's audience %q is not this org's %q", got, p.spEntity)
	}
	acs := s.baseURL + "/sso/saml2/" + p.id
	if d := response.SelectAttrValue("Destination", ""); d != "" && d != acs {
		return idpLogin{}, fmt.Errorf("the response's destination %q is not this ACS URL", d)
	}
	skew := time.Duration(numberAt(p.body, "policy", "maxClockSkew")) * time.Millisecond
	now := s.now()
	if nb, err := time.Parse(time.RFC3339, attr(assertion, "./Conditions", "NotBefore")); err == nil && now.Add(skew).Before(nb) {
		return idpLogin{}, fmt.Errorf("the assertion is not valid yet (NotBefore %s, clock skew %s)", nb.Format(time.RFC3339), skew)
	}
	if na, err := time.Parse(time.RFC3339, attr(assertion, "./Conditions", "NotOnOrAfter")); err == nil && !now.Add(-skew).Before(na) {
		return idpLogin{}, fmt.Errorf("the assertion has expired (NotOnOrAfter %s, clock skew %s)", na.Format(time.RFC3339), skew)
	}
	login := idpLogin{nameID: text(assertion, "./Subject/NameID"), attributes: map[string]string{}}
	for _, a := range assertion.FindElements("./AttributeStatement/Attribute") {
		login.attributes[a.SelectAttrValue("Name", "")] = text(a, "./AttributeValue")
	}
	login.username = idpUsername(stringAt(p.body, "policy", "subject", "userNameTemplate", "template"), login)
	if login.username == "" {
		return idpLogin{}, fmt.Errorf("the username template gives an empty username")
	}
	if filter := stringAt(p.body, "policy", "subject", "filter"); filter != "" {
		re, err := regexp.Compile(filter)
		if err != nil || !re.MatchString(login.username) {
			return idpLogin{}, fmt.Errorf("the username %s does not match the identity provider's filter", login.username)
		}
	}
	return login, nil
}

// idpUsername evaluates the Okta expressions an IdP username template is
// usually written with: idpuser.subjectNameId or idpuser.<attribute>.
func idpUsername(template string, login idpLogin) string {
	switch t := strings.TrimSpace(orText(template, "idpuser.subjectNameId")); {
	case t == "idpuser.subjectNameId":
		return login.nameID
	case strings.HasPrefix(t, "idpuser."):
		name := strings.TrimPrefix(t, "idpuser.")
		if v := login.attributes[name]; v != "" {
			return v
		}
		if name == "email" {
			return login.nameID
		}
	}
	return ""
}

// linkOrCreate finds the hub user the username matches, links it as the
// account link policy allows, or creates it when the IdP provisions just in
// time. Callers hold s.mu.
func (s *Server) linkOrCreate(p *idp, login idpLogin) (*user, int, error) {
	if u := s.matchUser(stringAt(p.body, "policy", "subject", "matchType"), login.username); u != nil {
		if u.status != "ACTIVE" {
			return nil, http.StatusForbidden, fmt.Errorf("the hub user %s is %s", login.username, u.status)
		}
		if p.linked[u.id] || stringAt(p.body, "policy", "accountLink", "action") == "AUTO" && s.linkAllowed(p, u) {
			p.linked[u.id] = true
			return u, 0, nil
		}
		return nil, http.StatusForbidden, fmt.Errorf("the hub user %s exists and the identity provider's account link policy does not link it", login.username)
	}
	if stringAt(p.body, "policy", "provisioning", "action") != "AUTO" {
		return nil, http.StatusForbidden, fmt.Errorf("no hub user matches %s and the identity provider does not create users (JIT is off)", login.username)
	}
	first, last := orText(login.attributes["firstName"], login.attributes["FirstName"]), orText(login.attributes["lastName"], login.attributes["LastName"])
	local := strings.SplitN(login.username, "@", 2)[0]
	email := login.username
	if !strings.Contains(email, "@") {
		email = orText(login.attributes["email"], local+"@"+strings.TrimPrefix(p.spEntity, "https://"))
	}
	u, e := s.addUser(userRequest{Profile: map[string]any{"login": login.username, "email": email,
		"firstName": orText(first, local), "lastName": orText(last, local)}}, true)
	if e != nil {
		return nil, http.StatusBadRequest, fmt.Errorf("creating the hub user %s: %s", login.username, e.Summary)
	}
	u.status, u.activated = "ACTIVE", s.now() // an IdP user signs in through the IdP, with no password here
	if dig(p.body, "policy", "provisioning", "groups", "action") == "ASSIGN" {
		for _, g := range listAt(p.body, "policy", "provisioning", "groups", "assignments") {
			if s.org.members[g] == nil {
				s.org.members[g] = map[string]bool{}
			}
			s.org.members[g][u.id] = true
		}
	}
	p.linked[u.id] = true
	return u, 0, nil
}

func (s *Server) matchUser(matchType, username string) *user {
	for _, u := range s.org.users.list() {
		login, _ := u.profile["login"].(string)
		email, _ := u.profile["email"].(string)
		byLogin, byEmail := strings.EqualFold(login, username), strings.EqualFold(email, username)
		switch {
		case matchType == "EMAIL" && byEmail, matchType == "USERNAME_OR_EMAIL" && (byLogin || byEmail),
			(matchType == "USERNAME" || matchType == "") && byLogin:
			return u
		}
	}
	return nil
}

// linkAllowed: auto-linking is limited to members of the filter's groups.
func (s *Server) linkAllowed(p *idp, u *user) bool {
	groups := listAt(p.body, "policy", "accountLink", "filter", "groups", "include")
	if len(groups) == 0 {
		return true
	}
	for _, g := range groups {
		if s.org.members[g][u.id] {
			return true
		}
	}
	return false
}

func text(el *etree.Element, path string) string {
	if e := el.FindElement(path); e != nil {
		return strings.TrimSpace(e.Text())
	}
	return ""
}

func attr(el *etree.Element, path, name string) string {
	if e := el.FindElement(path); e != nil {
		return e.SelectAttrValue(name, "")
	}
	return ""
}

func stringAt(m map[string]any, path ...string) string {
	v, _ := dig(m, path...).(string)
	return v
}

func numberAt(m map[string]any, path ...string) float64 {
	switch v := dig(m, path...).(type) {
	case float64:
		return v
	case int64:
		return float64(v)
	case int:
		return float64(v)
	}
	return 0
}

func listAt(m map[string]any, path ...string) []string {
	var out []string
	list, _ := dig(m, path...).([]any)
	for _, v := range list {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func orText(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// getIdPMetadata serves the hub's SAML metadata for an IdP: the service
// provider the spoke posts to (its entity ID is the audience, its ACS URL the
// IdP's).
func (s *Server) getIdPMetadata(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	p, ok := s.lookupIdP(w, r)
	s.mu.Unlock()
	if !ok {
		return
	}
	acs := s.baseURL + "/sso/saml2/" + p.id
	md := saml.EntityDescriptor{EntityID: p.spEntity, SPSSODescriptors: []saml.SPSSODescriptor{{
		SSODescriptor: saml.SSODescriptor{RoleDescriptor: saml.RoleDescriptor{ProtocolSupportEnumeration: "urn:oasis:names:tc:SAML:2.0:protocol"},
			NameIDFormats: []saml.NameIDFormat{"urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"}},
		AuthnRequestsSigned:       boolPtr(stringAt(p.body, "protocol", "algorithms", "request", "signature", "scope") == "REQUEST"),
		WantAssertionsSigned:      boolPtr(responseScope(p.body) != "RESPONSE"),
		AssertionConsumerServices: []saml.IndexedEndpoint{{Binding: saml.HTTPPostBinding, Location: acs, Index: 0, IsDefault: boolPtr(true)}},
	}}}
	out, err := xml.MarshalIndent(md, "", "  ")
	if err != nil {
		s.samlError(w, r, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/xml")
	_, _ = w.Write(append([]byte(xml.Header), out...))
}

func boolPtr(b bool) *bool { return &b }
