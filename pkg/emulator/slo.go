package emulator

// SAML single logout, SP-initiated, for apps that configure it
// (settings.signOn.slo with the SP's certificate): the SP sends a signed
// LogoutRequest to the app's SLO URL, the org ends the person's session and
// posts a LogoutResponse signed with the app's key to the SP's logout URL.

import (
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"net/http"

	"github.com/beevik/etree"
	"github.com/crewjam/saml"
)

// samlSLO receives an app's LogoutRequest in either binding.
func (s *Server) samlSLO(w http.ResponseWriter, r *http.Request) {
	req, err := readSAMLRequest(r)
	if err != nil {
		s.samlError(w, r, http.StatusBadRequest, "Invalid SAML logout request: "+err.Error())
		return
	}
	s.mu.Lock()
	a, ok := s.appByExternalKey(r.PathValue("exk"))
	s.mu.Unlock()
	if !ok || a.family != familySAML || !a.sloEnabled() {
		s.samlError(w, r, http.StatusNotFound, "No app with single logout answers at this URL")
		return
	}
	logout, err := s.checkLogoutRequest(a, req)
	if err != nil {
		s.samlError(w, r, http.StatusBadRequest, err.Error())
		return
	}
	s.endSession(w, r)
	s.mu.Lock()
	doc, err := s.signedLogoutResponse(a, logout.ID)
	s.mu.Unlock()
	if err != nil {
		s.samlError(w, r, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = responseForm.Execute(w, saml.IdpAuthnRequestForm{URL: a.signOn.SLO.LogoutURL,
		SAMLResponse: base64.StdEncoding.EncodeToString(doc), RelayState: req.relayState})
}

// checkLogoutRequest verifies a LogoutRequest as Okta does: signed by the
// SP's certificate, from the app's SP issuer.
func (s *Server) checkLogoutRequest(a *app, req *samlRequest) (*saml.LogoutRequest, error) {
	if a.signOn.SPCertificate == nil || len(a.signOn.SPCertificate.X5c) == 0 {
		return nil, fmt.Errorf("the app has no SP certificate to verify logout requests with")
	}
	cert, err := spCertificateOf(a)
	if err != nil {
		return nil, fmt.Errorf("the app's SP certificate cannot be read")
	}
	if req.binding == saml.HTTPRedirectBinding && req.signature != "" {
		err = verifyRedirectSignature(req, cert)
	} else {
		err = verifyPostSignature(req.xml, cert) // POST, or a redirect carrying the signature in the XML
	}
	if err != nil {
		return nil, err
	}
	var logout saml.LogoutRequest
	if err := xml.Unmarshal(req.xml, &logout); err != nil || logout.ID == "" {
		return nil, fmt.Errorf("the logout request cannot be read")
	}
	if want := a.signOn.SLO.Issuer; logout.Issuer == nil || (want != "" && logout.Issuer.Value != want) {
		return nil, fmt.Errorf("the logout request's issuer is not the app's SP issuer")
	}
	return &logout, nil
}

// signedLogoutResponse is a successful LogoutResponse signed with the
// app's active key. Callers hold s.mu.
func (s *Server) signedLogoutResponse(a *app, inResponseTo string) ([]byte, error) {
	key := a.activeKey()
	if key == nil {
		return nil, fmt.Errorf("the app has no active signing key")
	}
	resp := &saml.LogoutResponse{
		ID: "id" + s.randomString(30), InResponseTo: inResponseTo, IssueInstant: s.now(), Version: "2.0",
		Destination: a.signOn.SLO.LogoutURL,
		Issuer:      &saml.Issuer{Format: "urn:oasis:names:tc:SAML:2.0:nameid-format:entity", Value: a.idpIssuer()},
		Status:      saml.Status{StatusCode: saml.StatusCode{Value: saml.StatusSuccess}},
	}
	signer, err := signingContext(key, a.signOn)
	if err != nil {
		return nil, err
	}
	el, err := signedElement(signer, resp.Element(), func(sig *etree.Element) *etree.Element {
		resp.Signature = sig
		return resp.Element()
	})
	if err != nil {
		return nil, err
	}
	doc := etree.NewDocument()
	doc.SetRoot(el)
	return doc.WriteToBytes()
}
