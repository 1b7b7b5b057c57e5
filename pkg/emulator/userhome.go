package emulator

// The pages a person uses outside an app's sign-in: My Apps (Okta's
// /app/UserHome, where an IdP-initiated sign-in starts from a tile), the
// org's own sign-in page (/login/login.htm) and sign-out (/login/signout).

import (
	"net/http"
	"net/url"
	"strings"
)

const userHome = "/app/UserHome"

type tile struct{ ID, Label, Link string }

// userHomeHandler serves My Apps: the signed-in user's tiles (the active
// apps assigned to them directly or through a group and not hidden), each
// opening the app's embed link. Without a session, the sign-in page first.
func (s *Server) userHomeHandler(w http.ResponseWriter, r *http.Request) {
	u, ok := s.sessionUser(r)
	if !ok {
		http.Redirect(w, r, "/login/login.htm?fromURI="+url.QueryEscape(userHome), http.StatusFound)
		return
	}
	s.mu.Lock()
	p := page{Org: s.cfg.OrgName, Title: "My Apps", User: u.login(), Wide: true}
	for _, a := range s.org.apps.list() {
		if a.status == "ACTIVE" && !a.visibility.Hide.Web && (a.family == familySAML || a.family == familyBookmark) && s.hasAccess(a, u) {
			p.Tiles = append(p.Tiles, tile{ID: a.id, Label: a.label, Link: "/home/" + a.name + "/" + a.id + "/" + a.linkID})
		}
	}
	s.mu.Unlock()
	render(w, http.StatusOK, "home", p)
}

// rootHandler sends a signed-in person to My Apps and anyone else to the
// sign-in page, as Okta's org URL does.
func (s *Server) rootHandler(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, userHome, http.StatusFound)
}

// signInPage serves /login/login.htm: the org's sign-in page, going on to
// fromURI (a page of this org) afterwards, My Apps by default.
func (s *Server) signInPage(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.sessionUser(r); ok {
		http.Redirect(w, r, localURI(r.URL.Query().Get("fromURI")), http.StatusFound)
		return
	}
	s.showLoginForm(w, &samlRequest{fromURI: localURI(r.URL.Query().Get("fromURI"))})
}

// signOut serves /login/signout: the session ends (here and in the
// browser), then fromURI, a page of this org, or the sign-in page.
func (s *Server) signOut(w http.ResponseWriter, r *http.Request) {
	s.endSession(w, r)
	target := "/login/login.htm"
	if from := r.URL.Query().Get("fromURI"); from != "" {
		target = "/login/login.htm?fromURI=" + url.QueryEscape(localURI(from))
	}
	http.Redirect(w, r, target, http.StatusFound)
}

// localURI keeps a path of this org and drops anything else (another
// host, a scheme): a sign-in must not send a person off the org.
func localURI(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || raw == "" || u.Scheme != "" || u.Host != "" || !strings.HasPrefix(u.Path, "/") || strings.HasPrefix(raw, "//") {
		return userHome
	}
	return u.RequestURI()
}
