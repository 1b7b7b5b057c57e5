package emulator

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"strings"

	"sigs.k8s.io/yaml"
)

// Seed is the directory an org starts with (the --seed file), in YAML:
//
//	groups:
//	  - name: Engineering
//	    description: Everyone who builds things
//	users:
//	  - login: alice@example.com
//	    firstName: Alice
//	    lastName: Smith
//	    password: correct-horse      # users with a password are ACTIVE and can sign in
//	    groups: [Engineering]
//	    profile: {title: Engineer}   # other attributes of Okta's default schema
//	serviceApps:                     # OAuth 2.0 clients for private_key_jwt
//	  - clientID: 0oaservice
//	    publicKeyPEM: |
//	      -----BEGIN PUBLIC KEY-----
//	      ...
//	    scopes: [okta.apps.manage, okta.groups.read, okta.users.read]
//	accessPolicies:                  # app sign-on policies beside the org's presets
//	  - name: Strict MFA
//	    description: Phishing-resistant factors only
type Seed struct {
	Groups         []SeedGroup      `json:"groups,omitempty"`
	Users          []SeedUser       `json:"users,omitempty"`
	ServiceApps    []SeedServiceApp `json:"serviceApps,omitempty"`
	AccessPolicies []SeedPolicy     `json:"accessPolicies,omitempty"`
}

// SeedPolicy is an app sign-on (access) policy.
type SeedPolicy struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
}

// SeedGroup is an Okta group.
type SeedGroup struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
}

// SeedUser is an Okta user; email defaults to login.
type SeedUser struct {
	Login     string         `json:"login"`
	Email     string         `json:"email,omitempty"`
	FirstName string         `json:"firstName,omitempty"`
	LastName  string         `json:"lastName,omitempty"`
	Password  string         `json:"password,omitempty"`
	Groups    []string       `json:"groups,omitempty"`
	Profile   map[string]any `json:"profile,omitempty"`
}

// SeedServiceApp is an OAuth 2.0 service app.
type SeedServiceApp struct {
	ClientID     string   `json:"clientID"`
	PublicKeyPEM string   `json:"publicKeyPEM"`
	Scopes       []string `json:"scopes"`
	// DPoPBoundAccessTokens: its tokens must be DPoP-bound, as Okta's new
	// service apps require by default; false turns it off.
	DPoPBoundAccessTokens *bool `json:"dpopBoundAccessTokens,omitempty"`
}

// LoadSeed reads a seed file.
func LoadSeed(path string) (*Seed, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var seed Seed
	if err := yaml.UnmarshalStrict(data, &seed); err != nil {
		return nil, fmt.Errorf("reading seed %s: %w", path, err)
	}
	return &seed, nil
}

// Seed adds groups, users (with their memberships) and OAuth service apps to
// a running org, as the seed file does at start.
func (s *Server) Seed(seed *Seed) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.actor = systemActor
	defer func() { s.actor = apiActor }()
	for _, g := range seed.Groups {
		if _, e := s.addGroup(g.Name, g.Description, "OKTA_GROUP"); e != nil {
			return fmt.Errorf("seed group %q: %s", g.Name, e.Causes)
		}
	}
	for _, u := range seed.Users {
		if err := s.addSeedUser(u); err != nil {
			return err
		}
	}
	for _, p := range seed.AccessPolicies {
		if _, e := s.addPolicy(policyRequest{Name: p.Name, Description: p.Description, Type: accessPolicyType}, true); e != nil {
			return fmt.Errorf("seed access policy %q: %s", p.Name, strings.Join(e.Causes, "; "))
		}
	}
	for _, a := range seed.ServiceApps {
		pub, err := parsePublicKey(a.PublicKeyPEM)
		if err != nil {
			return fmt.Errorf("seed service app %q: %w", a.ClientID, err)
		}
		s.oauthClients[a.ClientID] = oauthClient{publicKey: pub, scopes: a.Scopes, dpop: a.DPoPBoundAccessTokens == nil || *a.DPoPBoundAccessTokens}
	}
	return nil
}

// addSeedUser creates a user and its memberships. Callers hold s.mu.
func (s *Server) addSeedUser(su SeedUser) error {
	profile := map[string]any{}
	for k, v := range su.Profile {
		profile[k] = v
	}
	profile["login"], profile["email"] = su.Login, su.Email
	if su.Email == "" {
		profile["email"] = su.Login
	}
	if su.FirstName != "" {
		profile["firstName"] = su.FirstName
	}
	if su.LastName != "" {
		profile["lastName"] = su.LastName
	}
	req := userRequest{Profile: profile}
	if su.Password != "" {
		req.Credentials = &userCredentials{}
		req.Credentials.Password = &struct {
			Value string         `json:"value"`
			Hash  map[string]any `json:"hash"`
		}{Value: su.Password}
	}
	u, e := s.addUser(req, true)
	if e != nil {
		return fmt.Errorf("seed user %q: %s %v", su.Login, e.Summary, e.Causes)
	}
	for _, name := range su.Groups {
		g, ok := s.org.groupByName(name)
		if !ok {
			return fmt.Errorf("seed user %q: no group %q", su.Login, name)
		}
		s.setMember(g, u, true)
	}
	return nil
}

func parsePublicKey(pemText string) (*rsa.PublicKey, error) {
	block, _ := pem.Decode([]byte(pemText))
	if block == nil {
		return nil, fmt.Errorf("publicKeyPEM holds no PEM block")
	}
	key, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	pub, ok := key.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("publicKeyPEM must be an RSA key")
	}
	return pub, nil
}

// seedUser is POST /emulator/users: adds a seed user at run time.
func (s *Server) seedUser(w http.ResponseWriter, r *http.Request) {
	var su SeedUser
	if err := json.NewDecoder(r.Body).Decode(&su); err != nil {
		s.writeError(w, http.StatusBadRequest, errBadJSON)
		return
	}
	if s.addSeededUser(w, su) {
		s.Provision(r.Context()) // a seeded user in a provisioned app's group is pushed, as any other
	}
}

func (s *Server) addSeededUser(w http.ResponseWriter, su SeedUser) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.actor = systemActor
	defer func() { s.actor = apiActor }()
	if err := s.addSeedUser(su); err != nil {
		s.writeError(w, http.StatusBadRequest, errValidation("user", err.Error()))
		return false
	}
	u, _ := s.org.userByIDOrLogin(su.Login)
	writeJSON(w, http.StatusOK, s.renderUser(u))
	return true
}
