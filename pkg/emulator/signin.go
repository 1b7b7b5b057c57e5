package emulator

// A person's sign-in to the org: the attempt a sign-in form belongs to, the
// form in the engine's shape (identifier first, then the password, on
// Identity Engine; both at once on Classic), the session a sign-in starts,
// and its end when idle or signed out.

import (
	"net/http"
	"strings"
	"time"
)

const (
	// attemptLifetime is how long a sign-in form stays good: a person may
	// leave it for a while, but an abandoned attempt must not be kept for
	// ever (a form's state is a capability).
	attemptLifetime = 30 * time.Minute
	// maxAttempts bounds the open attempts; past it the oldest is dropped.
	maxAttempts = 10000
	// lockoutAttempts wrong passwords in a row lock a user out (Okta's
	// default password policy).
	lockoutAttempts = 10

	msgUnableToSignIn = "Unable to sign in" // Okta's words for a wrong password, an unknown or deactivated user
	msgLockedOut      = "Your account is locked. Please contact your administrator."
	msgBlank          = "This field cannot be left blank"
)

// signInAttempt is a sign-in waiting for a person: what they asked for
// (an app, or a page of the org) and when the form was first shown.
type signInAttempt struct {
	req     *samlRequest
	started time.Time
}

// session is a person signed in to the org.
type session struct {
	userID   string
	lastSeen time.Time
}

// showLoginForm starts an attempt for the request and shows its first step.
func (s *Server) showLoginForm(w http.ResponseWriter, req *samlRequest) {
	s.renderSignIn(w, s.newAttempt(req), req, s.firstStep(), "", "")
}

// firstStep is the sign-in form a person sees first in this engine.
func (s *Server) firstStep() string {
	if s.cfg.Classic {
		return "classic"
	}
	return "identify"
}

// renderSignIn answers one step of the sign-in form ("identify",
// "password" or "classic"), naming the org and the app asked for.
func (s *Server) renderSignIn(w http.ResponseWriter, state string, req *samlRequest, step, username, failure string) {
	p := page{Org: s.cfg.OrgName, Title: "Sign In", State: state, Username: username, Error: failure}
	s.mu.Lock()
	if a, ok := s.org.apps.get(req.appID); ok {
		p.App = a.label
	}
	s.mu.Unlock()
	render(w, http.StatusOK, step, p)
}

// newAttempt keeps a request under a new form state, dropping attempts
// that were abandoned.
func (s *Server) newAttempt(req *samlRequest) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	var oldest string
	for state, a := range s.pending {
		if now.Sub(a.started) > attemptLifetime {
			delete(s.pending, state)
		} else if oldest == "" || a.started.Before(s.pending[oldest].started) {
			oldest = state
		}
	}
	if len(s.pending) >= maxAttempts {
		delete(s.pending, oldest)
	}
	state := s.randomString(32)
	s.pending[state] = &signInAttempt{req: req, started: now}
	return state
}

// attempt returns the request a form state belongs to, while it is good.
func (s *Server) attempt(state string) (*samlRequest, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.pending[state]
	if !ok || s.now().Sub(a.started) > attemptLifetime {
		delete(s.pending, state)
		return nil, false
	}
	return a.req, true
}

// samlLogin takes a step of the sign-in form. A username alone (Identity
// Engine's first step) gets the password step; a password signs the person
// in, starts a session and finishes what the attempt was for. A failure
// shows the same step again with Okta's message, the username kept.
func (s *Server) samlLogin(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.samlError(w, r, http.StatusBadRequest, "Invalid form")
		return
	}
	state := r.PostForm.Get("state")
	req, ok := s.attempt(state)
	if !ok {
		s.attemptOver(w, r)
		return
	}
	username := strings.TrimSpace(firstOf(r.PostForm, "identifier", "username"))
	password, hasPassword := r.PostForm["credentials.passcode"], r.PostForm.Has("credentials.passcode")
	if !hasPassword {
		password, hasPassword = r.PostForm["password"], r.PostForm.Has("password")
	}
	step := s.firstStep()
	switch {
	case username == "":
		s.renderSignIn(w, state, req, step, "", msgBlank)
		return
	case !hasPassword && step == "identify":
		s.renderSignIn(w, state, req, "password", username, "")
		return
	}
	if step == "identify" {
		step = "password"
	}
	u, failure := s.authenticate(username, password[0])
	if failure != "" {
		s.renderSignIn(w, state, req, step, username, failure)
		return
	}
	s.mu.Lock()
	delete(s.pending, state)
	s.mu.Unlock()
	s.startSession(w, u)
	if req.appID == "" {
		http.Redirect(w, r, req.fromURI, http.StatusFound)
		return
	}
	s.postResponse(w, r, req, u)
}

// attemptOver answers a form whose attempt is gone (used, abandoned, or
// from a page Back brought up): a signed-in person goes on to My Apps; to
// anyone else the page says to start again.
func (s *Server) attemptOver(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.sessionUser(r); ok {
		http.Redirect(w, r, userHome, http.StatusFound)
		return
	}
	s.refuse(w, http.StatusBadRequest, "Your sign-in has expired", "The sign-in has expired; start again at the application", userHome, false)
}

// backToIdentify is the password step's "Back to sign in": the first step
// again, for the same attempt.
func (s *Server) backToIdentify(w http.ResponseWriter, r *http.Request) {
	state := r.URL.Query().Get("state")
	req, ok := s.attempt(state)
	if !ok {
		http.Redirect(w, r, "/login/login.htm", http.StatusFound)
		return
	}
	s.renderSignIn(w, state, req, s.firstStep(), "", "")
}

func firstOf(form map[string][]string, names ...string) string {
	for _, n := range names {
		if v := form[n]; len(v) > 0 && v[0] != "" {
			return v[0]
		}
	}
	return ""
}

// authenticate checks a login and password and returns the user, or the
// message the person sees. Whether a user exists or is deactivated is not
// told; a locked account is (Okta says so too).
func (s *Server) authenticate(login, password string) (*user, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.org.userByIDOrLogin(login)
	switch {
	case !ok || u.password == "":
		return nil, msgUnableToSignIn
	case u.status == "LOCKED_OUT":
		return nil, msgLockedOut
	case u.status != "ACTIVE":
		return nil, msgUnableToSignIn
	case u.password != password:
		if u.failedSignIns++; u.failedSignIns >= lockoutAttempts {
			u.status, u.failedSignIns = "LOCKED_OUT", 0
			u.changed, u.lastUpdated = s.now(), s.now()
			return nil, msgLockedOut
		}
		return nil, msgUnableToSignIn
	}
	u.failedSignIns = 0
	return u, ""
}

// sessionUser returns the person signed in to the org, if their session
// is open and they are still ACTIVE. Using a session keeps it open; one
// unused for longer than the idle timeout is over.
func (s *Server) sessionUser(r *http.Request) (*user, bool) {
	c, err := r.Cookie(s.sessionCookie())
	if err != nil {
		return nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.sessions[c.Value]
	if !ok {
		return nil, false
	}
	now := s.now()
	if now.Sub(sess.lastSeen) > s.cfg.SessionIdleTimeout {
		delete(s.sessions, c.Value)
		return nil, false
	}
	sess.lastSeen = now
	u, ok := s.org.users.get(sess.userID)
	return u, ok && u.status == "ACTIVE"
}

// startSession signs a person in to the org: a new session and its cookie.
// Sessions left idle are dropped here, so they do not pile up.
func (s *Server) startSession(w http.ResponseWriter, u *user) {
	s.mu.Lock()
	now := s.now()
	for sid, sess := range s.sessions {
		if now.Sub(sess.lastSeen) > s.cfg.SessionIdleTimeout {
			delete(s.sessions, sid)
		}
	}
	sid := s.randomString(40)
	s.sessions[sid] = &session{userID: u.id, lastSeen: now}
	s.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: s.sessionCookie(), Value: sid, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

// endSession signs the person out of the org, here and in the browser.
func (s *Server) endSession(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(s.sessionCookie()); err == nil {
		s.mu.Lock()
		delete(s.sessions, c.Value)
		s.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: s.sessionCookie(), Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode})
}
