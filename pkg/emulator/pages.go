package emulator

// The HTML a person sees: the sign-in page in the two shapes Okta serves
// (Identity Engine's identifier-first form, and the Classic widget with
// --classic), My Apps, and the pages that refuse a sign-in. Element ids,
// names and classes are those of Okta's sign-in widget, so a browser test
// written against Okta finds the same fields here (docs/emulator.md).

import (
	"html/template"
	"net/http"
	"net/url"
)

var pages = template.Must(template.New("pages").Parse(`
{{define "top"}}<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Org}} - {{.Title}}</title>
<style>
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;background:#f4f5f7;color:#1d1d21}
.auth-container{max-width:420px;margin:48px auto;background:#fff;border:1px solid #d7d7dc;border-radius:6px;box-shadow:0 2px 6px rgba(0,0,0,.08)}
.wide{max-width:760px}
.auth-header{padding:20px 42px;border-bottom:1px solid #e6e6ea;text-align:center}
.okta-org{margin:0;font-weight:600;letter-spacing:.02em;color:#1662dd}
.auth-content{padding:24px 42px 32px}
h2{font-size:20px;margin:0 0 6px;text-align:center}
.okta-form-subtitle{text-align:center;color:#6e6e78;margin:0 0 16px}
label{display:block;font-weight:600;margin:14px 0 4px}
input[type=text],input[type=password]{box-sizing:border-box;width:100%;padding:9px 10px;border:1px solid #8c8c96;border-radius:4px;font:inherit}
.button-primary{display:block;width:100%;margin-top:20px;padding:10px;border:0;border-radius:4px;background:#1662dd;color:#fff;font:inherit;font-weight:600;cursor:pointer}
.infobox-error{border:1px solid #d93934;border-left-width:6px;border-radius:4px;padding:8px 12px;margin:12px 0;background:#fff5f5}
.infobox-error p{margin:0}
.identifier{text-align:center;font-weight:600;margin:4px 0 10px}
.links{margin-top:18px;text-align:center}
a{color:#1662dd}
.app-tiles{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:16px}
.app-button{display:block;width:150px;padding:28px 8px;text-align:center;border:1px solid #d7d7dc;border-radius:6px;text-decoration:none;font-weight:600;background:#fafafc}
.user-bar{display:flex;justify-content:space-between;align-items:center}
</style></head><body>
<main id="okta-sign-in" class="auth-container main-container{{if .Wide}} wide{{end}}">
<div class="okta-sign-in-header auth-header"><p class="okta-org">{{.Org}}</p></div>
<div class="auth-content">{{end}}

{{define "bottom"}}</div></main></body></html>{{end}}

{{define "error"}}{{if .Error}}<div class="o-form-error-container o-form-has-errors" data-se="o-form-error-container" role="alert">
<div class="okta-form-infobox-error infobox infobox-error"><p>{{.Error}}</p></div></div>{{end}}{{end}}

{{define "subtitle"}}{{if .App}}<p class="okta-form-subtitle" data-se="o-form-explain">to continue to <strong class="okta-app">{{.App}}</strong></p>{{end}}{{end}}

{{define "identify"}}{{template "top" .}}
<div class="siw-main-view identify primary-auth">
<form method="post" action="/login/emulator" class="ion-form o-form" data-se="o-form">
<h2 class="okta-form-title o-form-head" data-se="o-form-head">Sign In</h2>
{{template "subtitle" .}}{{template "error" .}}
<input type="hidden" name="state" value="{{.State}}">
<label for="input28">Username</label>
<input type="text" id="input28" name="identifier" autocomplete="username" autofocus value="{{.Username}}">
<input type="submit" class="button button-primary" data-type="save" value="Next">
</form></div>{{template "bottom" .}}{{end}}

{{define "password"}}{{template "top" .}}
<div class="siw-main-view challenge-authenticator--okta_password mfa-verify-password">
<form method="post" action="/login/emulator" class="ion-form o-form" data-se="o-form">
<h2 class="okta-form-title o-form-head" data-se="o-form-head">Verify with your password</h2>
{{template "subtitle" .}}
<p class="identifier" data-se="identifier">{{.Username}}</p>
{{template "error" .}}
<input type="hidden" name="state" value="{{.State}}">
<input type="hidden" name="identifier" value="{{.Username}}">
<label for="input59">Password</label>
<input type="password" id="input59" name="credentials.passcode" autocomplete="current-password" autofocus>
<input type="submit" class="button button-primary" data-type="save" value="Verify">
</form>
<p class="links"><a data-se="cancel" href="/login/emulator/back?state={{.State}}">Back to sign in</a></p>
</div>{{template "bottom" .}}{{end}}

{{define "classic"}}{{template "top" .}}
<div class="primary-auth">
<form method="post" action="/login/emulator" id="form19" class="primary-auth-form o-form" data-se="o-form">
<h2 class="okta-form-title o-form-head" data-se="o-form-head">Sign In</h2>
{{template "subtitle" .}}{{template "error" .}}
<input type="hidden" name="state" value="{{.State}}">
<label for="okta-signin-username">Username</label>
<input type="text" id="okta-signin-username" name="username" autocomplete="username" autofocus value="{{.Username}}">
<label for="okta-signin-password">Password</label>
<input type="password" id="okta-signin-password" name="password" autocomplete="current-password">
<input type="submit" id="okta-signin-submit" class="button button-primary" data-type="save" value="Sign In">
</form></div>{{template "bottom" .}}{{end}}

{{define "home"}}{{template "top" .}}
<div class="user-bar"><p>Signed in as <strong id="okta-user">{{.User}}</strong></p>
<a id="signout" data-se="signout" href="/login/signout?fromURI=/app/UserHome">Sign out</a></div>
<h2>My Apps</h2>
{{if .Tiles}}<ul class="app-tiles">{{range .Tiles}}
<li><a class="app-button" data-se="app-card" data-app-id="{{.ID}}" href="{{.Link}}" target="_self">{{.Label}}</a></li>{{end}}
</ul>{{else}}<p id="no-apps">No apps are assigned to you.</p>{{end}}
{{template "bottom" .}}{{end}}

{{define "refusal"}}{{template "top" .}}
<div class="error-page" data-se="error-page">
<h2 id="error-title">{{.Title}}</h2>
<div class="okta-form-infobox-error infobox infobox-error" role="alert"><p id="error-message">{{.Error}}</p></div>
<p class="links">{{if .SignedIn}}<a id="signout" data-se="signout" href="{{.SignOut}}">Sign out and sign in as someone else</a> · {{end}}<a id="home" href="/app/UserHome">Go to My Apps</a></p>
</div>{{template "bottom" .}}{{end}}
`))

// page is what every page shows; each page uses what it needs.
type page struct {
	Org, Title, App, Error, Username, State, User, SignOut string
	SignedIn, Wide                                         bool
	Tiles                                                  []tile
}

// render answers a page, never cached: Back must not show a sign-in form
// whose attempt is over, nor My Apps after sign-out.
func render(w http.ResponseWriter, status int, name string, p page) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = pages.ExecuteTemplate(w, name, p)
}

// refuse answers a sign-in the org will not complete with a page a person
// understands: what happened and, when they are signed in, a sign-out that
// comes back to where they started so they can try another account.
// from is where the sign-in started (My Apps when it cannot start again).
func (s *Server) refuse(w http.ResponseWriter, status int, title, msg, from string, signedIn bool) {
	render(w, status, "refusal", page{Org: s.cfg.OrgName, Title: title, Error: msg, SignedIn: signedIn,
		SignOut: "/login/signout?fromURI=" + url.QueryEscape(localURI(from))})
}
