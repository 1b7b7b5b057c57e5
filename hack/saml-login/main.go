// Command saml-login is a scripted browser for the demo and the end-to-end
// tests: it opens a page, follows redirects, submits the auto-posting SAML
// forms, answers the local Okta org's sign-in form, and prints the page it
// ends on (saml-sp's answer: who signed in, with which attributes).
//
//	saml-login --start http://127.0.0.1:8090/ --user alice@example.com --password ...
//	saml-login --start <idp-initiated-url> --basic --user ... --password ...
package main

import (
	"errors"
	"flag"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"
)

var (
	formTag   = regexp.MustCompile(`(?s)<form[^>]*action="([^"]*)"`)
	formInput = regexp.MustCompile(`<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"`)
)

func main() {
	start := flag.String("start", "", "The page to open: an SP page (SP-initiated) or an app tile URL (IdP-initiated).")
	user := flag.String("user", "", "Login of the user.")
	password := flag.String("password", "", "Password of the user.")
	basic := flag.Bool("basic", false, "Send the credentials as HTTP Basic on the first request instead of using the sign-in form.")
	flag.Parse()
	page, err := login(*start, *user, *password, *basic)
	if err != nil {
		fmt.Fprintln(os.Stderr, "saml-login:", err)
		os.Exit(1)
	}
	fmt.Println(strings.TrimSpace(page))
}

func login(start, user, password string, basic bool) (string, error) {
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 20 * time.Second}
	req, err := http.NewRequest(http.MethodGet, start, nil)
	if err != nil {
		return "", err
	}
	if basic {
		req.SetBasicAuth(user, password)
	}
	page, at, err := fetch(browser, req)
	for step := 0; err == nil && step < 6; step++ {
		m := formTag.FindStringSubmatch(page)
		if m == nil {
			return page, nil // no form left: the page the flow ends on
		}
		action, parseErr := at.Parse(html.UnescapeString(m[1]))
		if parseErr != nil {
			return "", parseErr
		}
		form := url.Values{}
		for _, in := range formInput.FindAllStringSubmatch(page, -1) {
			form.Set(in[1], html.UnescapeString(in[2]))
		}
		fill(form, page, user, password)
		post, _ := http.NewRequest(http.MethodPost, action.String(), strings.NewReader(form.Encode()))
		post.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		page, at, err = fetch(browser, post)
	}
	if err != nil {
		return "", err
	}
	return "", errors.New("the sign-in did not finish within 6 forms")
}

// fill answers the sign-in form in either shape: Identity Engine's
// identifier, then its password step; Classic's username and password.
func fill(form url.Values, page, user, password string) {
	for field, value := range map[string]string{"identifier": user, "credentials.passcode": password, "username": user, "password": password} {
		if strings.Contains(page, `name="`+field+`"`) {
			form.Set(field, value)
		}
	}
}

// errorMessage is what an error page says: the org's message, or the body.
var errorMessage = regexp.MustCompile(`id="error-message">([^<]*)<`)

func pageText(body []byte) string {
	if m := errorMessage.FindSubmatch(body); m != nil {
		return html.UnescapeString(string(m[1]))
	}
	return strings.TrimSpace(string(body))
}

// fetch returns a page's body and the URL it was finally served from.
func fetch(c *http.Client, req *http.Request) (string, *url.URL, error) {
	req.Header.Set("Accept", "application/json") // the example SP's page as JSON
	resp, err := c.Do(req)
	if err != nil {
		return "", nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if resp.StatusCode >= 400 {
		return "", nil, fmt.Errorf("%s answered %s: %s", resp.Request.URL, resp.Status, pageText(body))
	}
	return string(body), resp.Request.URL, err
}
