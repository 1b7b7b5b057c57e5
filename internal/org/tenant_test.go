package org

import (
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
)

func tenantOf(t *testing.T, rule ssov1.TenantRule) *Tenant {
	t.Helper()
	rule.Namespaces = []string{"team-a"}
	co := &ssov1.ClusterOktaOrg{ObjectMeta: metav1.ObjectMeta{Name: "company"}, Spec: ssov1.ClusterOktaOrgSpec{Tenants: []ssov1.TenantRule{rule}}}
	tenant, err := TenantFor(co, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-a"}})
	if err != nil {
		t.Fatal(err)
	}
	return tenant
}

func appSpec(label, acs string) *ssov1.OktaSAMLAppSpec {
	return &ssov1.OktaSAMLAppSpec{Label: label, ServiceProvider: &ssov1.ServiceProvider{EntityID: "urn:sp", ACSURL: ssov1.URL(acs)}}
}

func TestTenantDecisions(t *testing.T) {
	yes, no := true, false
	strict := ssov1.TenantRule{
		LabelPrefix:            "${namespace} · ",
		ServiceProviderHosts:   []string{"*.team-a.example.com", "team-a.example.com"},
		Groups:                 &ssov1.GroupRule{Allow: []string{"team-a-*"}, Deny: []string{"*admin*"}},
		DirectUsers:            ssov1.Denied,
		AuthenticationPolicies: []string{"Team A MFA"},
		DeletionPolicy:         ssov1.DeletionPolicyDelete,
	}
	cases := map[string]struct {
		rule   ssov1.TenantRule
		check  func(*Tenant) error
		denied string // the rule's field named in the refusal; "" allows
	}{
		"defaults allow any label and host": {check: func(t *Tenant) error { return t.CheckApp(appSpec("Anything", "https://any.example.org/acs")) }},
		"label with the namespace prefix": {rule: strict, check: func(t *Tenant) error {
			return t.CheckApp(appSpec("team-a · Wiki", "https://wiki.team-a.example.com/acs"))
		}},
		"label impersonating another tile": {rule: strict, check: func(t *Tenant) error { return t.CheckApp(appSpec("Payroll", "https://wiki.team-a.example.com/acs")) }, denied: "labelPrefix"},
		"hosts and groups of the namespace's own": {rule: ssov1.TenantRule{ServiceProviderHosts: []string{"*.${namespace}.example.com"}, Groups: &ssov1.GroupRule{Allow: []string{"${namespace}-*"}}},
			check: func(t *Tenant) error {
				if err := t.CheckGroups("subjects", []string{"team-a-users"}); err != nil {
					return err
				}
				return t.CheckApp(appSpec("Wiki", "https://wiki.team-b.example.com/acs"))
			}, denied: "serviceProviderHosts"},
		"label pattern": {rule: ssov1.TenantRule{LabelPattern: `${namespace}-[a-z]+`},
			check: func(t *Tenant) error { return t.CheckApp(appSpec("team-a-Wiki", "https://x/acs")) }, denied: "labelPattern"},
		"ACS on another team's host": {rule: strict, check: func(t *Tenant) error {
			return t.CheckApp(appSpec("team-a · Wiki", "https://wiki.team-b.example.com/acs"))
		}, denied: "serviceProviderHosts"},
		"ACS on a look-alike host": {rule: strict, check: func(t *Tenant) error {
			return t.CheckApp(appSpec("team-a · Wiki", "https://evilteam-a.example.com/acs"))
		}, denied: "serviceProviderHosts"},
		"entityID URL on another host": {rule: strict, check: func(t *Tenant) error {
			s := appSpec("team-a · Wiki", "https://team-a.example.com/acs")
			s.ServiceProvider.EntityID = "https://team-b.example.com/sp"
			return t.CheckApp(s)
		}, denied: "serviceProviderHosts"},
		"SLO URL on another host": {rule: strict, check: func(t *Tenant) error {
			s := appSpec("team-a · Wiki", "https://team-a.example.com/acs")
			s.ServiceProvider.SingleLogoutURL = "https://attacker.example.net/slo"
			return t.CheckApp(s)
		}, denied: "serviceProviderHosts"},
		"a policy not granted": {rule: strict, check: func(t *Tenant) error {
			s := appSpec("team-a · Wiki", "https://team-a.example.com/acs")
			s.SignOn.AuthenticationPolicy = &ssov1.PolicyReference{Name: "Password only"}
			return t.CheckApp(s)
		}, denied: "authenticationPolicies"},
		"the granted policy": {rule: strict, check: func(t *Tenant) error {
			s := appSpec("team-a · Wiki", "https://team-a.example.com/acs")
			s.SignOn.AuthenticationPolicy = &ssov1.PolicyReference{Name: "team a mfa"}
			return t.CheckApp(s)
		}},
		"defaults allow only the default policy": {check: func(t *Tenant) error {
			s := appSpec("x", "https://x/acs")
			s.SignOn.AuthenticationPolicy = &ssov1.PolicyReference{ID: "rst0000000000000000a"}
			return t.CheckApp(s)
		}, denied: "authenticationPolicies"},
		"Orphan where Delete is forced": {rule: strict, check: func(t *Tenant) error {
			s := appSpec("team-a · Wiki", "https://team-a.example.com/acs")
			s.DeletionPolicy = ssov1.DeletionPolicyOrphan
			return t.CheckApp(s)
		}, denied: "deletionPolicy"},
		"Everyone by default":                  {check: func(t *Tenant) error { return t.CheckGroups("subjects", []string{"everyone"}) }, denied: "groups"},
		"Everyone allowed by name":             {rule: ssov1.TenantRule{Groups: &ssov1.GroupRule{Allow: []string{"Everyone"}}}, check: func(t *Tenant) error { return t.CheckGroups("subjects", []string{"Everyone"}) }},
		"Everyone not allowed by a star":       {rule: ssov1.TenantRule{Groups: &ssov1.GroupRule{Allow: []string{"*"}}}, check: func(t *Tenant) error { return t.CheckGroups("subjects", []string{"Everyone"}) }, denied: "groups"},
		"a group outside allow":                {rule: strict, check: func(t *Tenant) error { return t.CheckGroups("subjects", []string{"team-a-users", "team-b-users"}) }, denied: "groups"},
		"an allowed group that is denied":      {rule: strict, check: func(t *Tenant) error { return t.CheckGroups("subjects", []string{"team-a-Admins"}) }, denied: "groups"},
		"an allowed group":                     {rule: strict, check: func(t *Tenant) error { return t.CheckGroups("subjects", []string{"TEAM-A-users"}) }},
		"users where denied":                   {rule: strict, check: func(t *Tenant) error { return t.CheckDirectUsers([]string{"ann@example.com"}) }, denied: "directUsers"},
		"users by default":                     {check: func(t *Tenant) error { return t.CheckDirectUsers([]string{"ann@example.com"}) }},
		"adoption by default":                  {check: func(t *Tenant) error { return t.CheckAdoption() }, denied: "adoption"},
		"adoption allowed":                     {rule: ssov1.TenantRule{Adoption: ssov1.Allowed}, check: func(t *Tenant) error { return t.CheckAdoption() }},
		"provisioning into the org by default": {check: func(t *Tenant) error { return t.CheckProvisioning() }, denied: "provisioning.connection.orgRef"},
		"provisioning into the org allowed":    {rule: ssov1.TenantRule{Provisioning: ssov1.Allowed}, check: func(t *Tenant) error { return t.CheckProvisioning() }},
		"an IdP by default": {check: func(t *Tenant) error {
			return t.CheckIdentityProvider(&ssov1.OktaSAMLIdentityProviderSpec{Provisioning: ssov1.Provisioning{IfNoMatch: ssov1.IfNoMatchRedirect}})
		}, denied: "identityProviders"},
		"an IdP auto-linking everyone": {rule: ssov1.TenantRule{IdentityProviders: ssov1.Allowed}, check: func(t *Tenant) error {
			return t.CheckIdentityProvider(&ssov1.OktaSAMLIdentityProviderSpec{AccountLink: ssov1.AccountLink{Policy: ssov1.AccountLinkAuto},
				Provisioning: ssov1.Provisioning{IfNoMatch: ssov1.IfNoMatchRedirect}})
		}, denied: "identityProviders"},
		"an IdP JIT into no group": {rule: ssov1.TenantRule{IdentityProviders: ssov1.Allowed}, check: func(t *Tenant) error {
			return t.CheckIdentityProvider(&ssov1.OktaSAMLIdentityProviderSpec{Provisioning: ssov1.Provisioning{IfNoMatch: ssov1.IfNoMatchJIT}})
		}, denied: "identityProviders"},
		"an IdP JIT into Everyone": {rule: ssov1.TenantRule{IdentityProviders: ssov1.Allowed}, check: func(t *Tenant) error {
			return t.CheckIdentityProvider(&ssov1.OktaSAMLIdentityProviderSpec{Provisioning: ssov1.Provisioning{IfNoMatch: ssov1.IfNoMatchJIT, Groups: []string{"Everyone"}}})
		}, denied: "groups"},
		"an IdP limited to groups": {rule: ssov1.TenantRule{IdentityProviders: ssov1.Allowed}, check: func(t *Tenant) error {
			return t.CheckIdentityProvider(&ssov1.OktaSAMLIdentityProviderSpec{AccountLink: ssov1.AccountLink{Policy: ssov1.AccountLinkAuto, Groups: []string{"partners"}},
				Provisioning: ssov1.Provisioning{IfNoMatch: ssov1.IfNoMatchJIT, Groups: []string{"partners"}}})
		}},
		"a sync reading the default set": {check: func(t *Tenant) error { return t.CheckAccountSync(map[string]bool{"login": true, "email": true}, nil) }},
		"a sync reading the whole user":  {check: func(t *Tenant) error { return t.CheckAccountSync(nil, nil) }, denied: "accountSync.profileAttributes"},
		"a sync reading a salary":        {check: func(t *Tenant) error { return t.CheckAccountSync(map[string]bool{"login": true, "salary": true}, nil) }, denied: "accountSync.profileAttributes"},
		"a sync reading a listed one": {rule: ssov1.TenantRule{AccountSync: &ssov1.AccountSyncRule{ProfileAttributes: []string{"login", "costCenter"}}}, check: func(t *Tenant) error {
			return t.CheckAccountSync(map[string]bool{"login": true, "costCenter": true}, nil)
		}},
		"a sync where denied":            {rule: ssov1.TenantRule{AccountSync: &ssov1.AccountSyncRule{Allowed: &no}}, check: func(t *Tenant) error { return t.CheckAccountSync(map[string]bool{}, nil) }, denied: "accountSync.allowed"},
		"a sync where allowed":           {rule: ssov1.TenantRule{AccountSync: &ssov1.AccountSyncRule{Allowed: &yes}}, check: func(t *Tenant) error { return t.CheckAccountSync(map[string]bool{}, nil) }},
		"a sync pushing Everyone":        {check: func(t *Tenant) error { return t.CheckAccountSync(map[string]bool{}, []string{"Everyone"}) }, denied: "groups"},
		"within the limit":               {rule: ssov1.TenantRule{Limits: &ssov1.TenantLimits{Apps: ptr(int32(2))}}, check: func(t *Tenant) error { return t.CheckLimit(LimitApps, 1) }},
		"beyond the limit":               {rule: ssov1.TenantRule{Limits: &ssov1.TenantLimits{Apps: ptr(int32(2))}}, check: func(t *Tenant) error { return t.CheckLimit(LimitApps, 2) }, denied: "limits.apps"},
		"another kind's limit":           {rule: ssov1.TenantRule{Limits: &ssov1.TenantLimits{Apps: ptr(int32(0))}}, check: func(t *Tenant) error { return t.CheckLimit(LimitBindings, 5) }},
		"a team's own org allows it all": {check: func(*Tenant) error { return (*Tenant)(nil).CheckGroups("subjects", []string{"Everyone"}) }},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			err := tc.check(tenantOf(t, tc.rule))
			if tc.denied == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var denied *PolicyDeniedError
			if !errors.As(err, &denied) {
				t.Fatalf("got %v, want a refusal by %s", err, tc.denied)
			}
			if !strings.Contains(err.Error(), "("+tc.denied+")") || !strings.Contains(err.Error(), "ClusterOktaOrg company") || !strings.Contains(err.Error(), "nothing was written to Okta") {
				t.Errorf("refusal %q does not name the field %s, the org and what happened", err, tc.denied)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestTenantRuleChoice(t *testing.T) {
	co := &ssov1.ClusterOktaOrg{ObjectMeta: metav1.ObjectMeta{Name: "company"}, Spec: ssov1.ClusterOktaOrgSpec{Tenants: []ssov1.TenantRule{
		{NamespaceCondition: ssov1.NamespaceCondition{Namespaces: []string{"team-a"}}, Weight: 3},
		{NamespaceCondition: ssov1.NamespaceCondition{NamespaceRegexes: []string{"^team-"}}},
		{NamespaceCondition: ssov1.NamespaceCondition{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "gold"}}}},
	}}}
	for ns, want := range map[string]string{"team-a": "spec.tenants[0]", "team-b": "spec.tenants[1]", "gold": "spec.tenants[2]", "other": "the defaults"} {
		tenant, err := TenantFor(co, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{"tier": ns}}})
		if err != nil || tenant.Rule != want {
			t.Errorf("%s: got %v %v, want %s", ns, tenant, err, want)
		}
	}
	if a, _ := TenantFor(co, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-a"}}); a.Weight() != 3 {
		t.Errorf("weight %d, want 3", a.Weight())
	}
	co.Spec.Tenants[0].NamespaceRegexes = []string{"("}
	if _, err := TenantFor(co, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-z"}}); err == nil {
		t.Error("a rule that does not compile gave a namespace the defaults")
	}
}
