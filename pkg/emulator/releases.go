package emulator

// Okta changes the shape of its answers from one monthly release to the
// next, and the recorded exchanges show when: each change below is named by
// the first release whose recordings carry it. An org answers like
// Config.Release (every change when empty, as Okta answers today), so a
// recording replays against the release it was made with.
const (
	// Apps gain universalLogout; identity providers policy.trustClaims;
	// the org's well-known document loses settings.op4wEnabled.
	releaseUniversalLogout = "2025.06"
	// Apps gain settings.emOptInStatus.
	releaseEmOptIn = "2025.08"
	// universalLogout says what custom SAML and OIDC apps support instead
	// of null.
	releaseUniversalLogoutStatus = "2026.03"
	// Classic Engine orgs link apps to their access and enrollment
	// policies too.
	releaseClassicPolicies = "2025.06"
	// Groups of type OKTA_GROUP gain an owners link.
	releaseGroupOwners = "2025.12"
	// Users gain realmId and a resetFactors lifecycle link.
	releaseUserRealms = "2025.12"
	// A custom SAML app's empty default relay state is answered null.
	releaseNullRelayState = "2026.04"
)

// answersSince tells whether the org answers like release r or a later one.
// Releases are "YYYY.MM", so they order as strings.
func (s *Server) answersSince(r string) bool {
	return s.cfg.Release == "" || s.cfg.Release >= r
}
