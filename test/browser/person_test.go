package browser

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/chromedp/chromedp"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// stepTimeout bounds one step of a person's (a page to load, a field to
// appear): generous, since a loaded machine runs the manager and two orgs.
const stepTimeout = 30 * time.Second

// startChromium starts one headless Chromium for the suite, with the
// flags this machine's closed network needs and Chromium's strict SameSite
// rules (no two-minute grace for cookies without SameSite on a cross-site
// POST), and returns the context people are made from.
func startChromium() context.Context {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.NoSandbox,
		chromedp.UserDataDir(GinkgoT().TempDir()),
		chromedp.WindowSize(1000, 760),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("ignore-certificate-errors", true), // the SP's self-signed localhost certificate
		chromedp.Flag("enable-features", "NetworkService,NetworkServiceInProcess,SameSiteDefaultChecksMethodRigorously"),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	DeferCleanup(cancelAlloc)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
	DeferCleanup(cancelBrowser)
	Expect(chromedp.Do(browserCtx)).To(Succeed(), "starting Chromium")
	return browserCtx
}

// person is one person at their own browser: a browser context of their
// own, so cookies and sessions are theirs alone.
type person struct {
	ctx context.Context
}

func newPerson(browserCtx context.Context) *person {
	ctx, cancel := chromedp.NewContext(browserCtx, chromedp.WithNewBrowserContext())
	DeferCleanup(cancel)
	Expect(chromedp.Do(ctx)).To(Succeed(), "opening a window")
	return &person{ctx: ctx}
}

func (p *person) do(actions ...chromedp.Action[chromedp.Void]) {
	GinkgoHelper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	err := chromedp.Do(ctx, actions...)
	Expect(err).NotTo(HaveOccurred(), p.page)
}

// page is what the person has in front of them, for a failure's message.
func (p *person) page() string {
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	defer cancel()
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	return "at " + loc + ", the page says:\n" + text
}

// open goes to a URL as typed into the address bar.
func (p *person) open(url string) { GinkgoHelper(); p.do(chromedp.Navigate(url)) }

// types types into a field once it shows.
func (p *person) types(selector, text string) {
	GinkgoHelper()
	p.do(chromedp.WaitVisible(chromedp.CSS(selector)), chromedp.SendKeys(chromedp.CSS(selector), text))
}

// clicks clicks an element once it shows.
func (p *person) clicks(selector string) {
	GinkgoHelper()
	p.do(chromedp.WaitVisible(chromedp.CSS(selector)), chromedp.Click(chromedp.CSS(selector)))
}

// clicksTile clicks the My Apps tile with this label.
func (p *person) clicksTile(label string) {
	GinkgoHelper()
	tile := chromedp.Search(`//a[contains(@class,"app-button") and normalize-space()="` + label + `"]`)
	p.do(chromedp.WaitVisible(tile), chromedp.Click(tile))
}

// sees waits for an element to show and returns its text.
func (p *person) sees(selector string) string {
	GinkgoHelper()
	p.do(chromedp.WaitVisible(chromedp.CSS(selector)))
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(selector)))
	Expect(err).NotTo(HaveOccurred())
	return text
}

// goesBack presses Back n times at once (history.go), marking the page it
// leaves so that sees waits for the page Back brings.
func (p *person) goesBack(n int) {
	GinkgoHelper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf(`document.body.dataset.left = "1"; history.go(-%d); true`, n)))
	Expect(err).NotTo(HaveOccurred())
}

// at is the address the page is at.
func (p *person) at() string {
	GinkgoHelper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	Expect(err).NotTo(HaveOccurred())
	return loc
}

// signsInAtIdentityEngine answers the org's identifier-first form: the
// username, Next, then the password, Verify.
func (p *person) signsInAtIdentityEngine(username, password string) {
	GinkgoHelper()
	p.types(`input[name="identifier"]`, username)
	p.clicks(`input[data-type="save"]`)
	p.types(`input[name="credentials.passcode"]`, password)
	p.clicks(`input[data-type="save"][value="Verify"]`)
}

// screenshot saves the page as name.png under $BROWSER_SCREENSHOTS.
func (p *person) screenshot(name string) {
	GinkgoHelper()
	dir := os.Getenv("BROWSER_SCREENSHOTS")
	if dir == "" {
		return
	}
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	Expect(err).NotTo(HaveOccurred())
	Expect(os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644)).To(Succeed())
}
