package controller

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
	"github.com/oktaop/okta-sso-operator/internal/okta"
)

func samlApp(note string) *okta.App {
	a := &okta.App{ID: "0oaSalesforce", Label: "Salesforce", Name: "acme_salesforce_1", SignOnMode: okta.SignOnModeSAML2}
	if note != "" {
		a.Settings.Notes = &okta.AppNotes{Admin: &note}
	}
	return a
}

func TestAttachApp(t *testing.T) {
	me := owner{kind: "OktaSAMLApp", namespace: "team-a", name: "crm", cluster: "c1"}
	created, adopted := me, me
	created.origin, adopted.origin = ssov1.OriginCreated, ssov1.OriginAdopted
	other := func(change func(*owner)) string { o := created; change(&o); return o.line() }
	adopt := adoptRequest{requested: true}
	tests := map[string]struct {
		app           *okta.App
		adopt         adoptRequest
		preconfigured string
		wantOrigin    ssov1.Origin
		wantRefusal   string
	}{
		"its own note: re-attached":                       {app: samlApp(created.line()), wantOrigin: ssov1.OriginCreated},
		"its own note, adopted: keeps the origin":         {app: samlApp(adopted.line() + "\nkept by hand"), wantOrigin: ssov1.OriginAdopted},
		"a note from before clusters were named":          {app: samlApp("Managed by okta-sso-operator as team-a/crm (uid 1234); change it in Git, not here."), wantOrigin: ssov1.OriginCreated},
		"another namespace's note: refused":               {app: samlApp(other(func(o *owner) { o.namespace = "team-b" })), adopt: adopt, wantRefusal: "managed by okta-sso-operator as OktaSAMLApp team-b/crm in cluster c1"},
		"another name's note: refused":                    {app: samlApp(other(func(o *owner) { o.name = "erp" })), adopt: adopt, wantRefusal: "team-a/erp"},
		"another cluster's note: refused":                 {app: samlApp(other(func(o *owner) { o.cluster = "c2" })), adopt: adopt, wantRefusal: "in cluster c2"},
		"another kind's note (a tile): refused":           {app: samlApp(other(func(o *owner) { o.kind = "OktaSAMLIdentityProvider" })), adopt: adopt, wantRefusal: "OktaSAMLIdentityProvider team-a/crm"},
		"made by hand, no request: refused":               {app: samlApp(""), wantRefusal: `set the annotation sso.oktaop.io/adopt: "true"`},
		"made by hand, a person's note, no request":       {app: samlApp("Owner: IT"), wantRefusal: "was not made by the operator"},
		"made by hand, adoption requested":                {app: samlApp("Owner: IT"), adopt: adopt, wantOrigin: ssov1.OriginAdopted},
		"a bookmark app: refused even when requested":     {app: &okta.App{ID: "0oaB", Label: "Wiki", Name: "bookmark", SignOnMode: "BOOKMARK"}, adopt: adopt, wantRefusal: "signs on with BOOKMARK, not SAML 2.0"},
		"an OIDC app: refused":                            {app: &okta.App{ID: "0oaO", Label: "Portal", SignOnMode: "OPENID_CONNECT"}, adopt: adopt, wantRefusal: "OPENID_CONNECT"},
		"an SWA app: refused":                             {app: &okta.App{ID: "0oaS", Label: "Legacy", SignOnMode: "AUTO_LOGIN"}, adopt: adopt, wantRefusal: "AUTO_LOGIN"},
		"a catalog app other than spec.preconfigured":     {app: samlApp(""), adopt: adopt, preconfigured: "okta_org2org", wantRefusal: "not the okta_org2org"},
		"the catalog app spec.preconfigured names":        {app: &okta.App{ID: "0oaX", Name: "okta_org2org", SignOnMode: okta.SignOnModeSAML2}, adopt: adopt, preconfigured: "okta_org2org", wantOrigin: ssov1.OriginAdopted},
		"a look-alike note with trailing words is ours":   {app: samlApp(created.line() + " extra"), wantOrigin: ssov1.OriginCreated},
		"a note that only mentions the operator is not":   {app: samlApp("Was Managed by okta-sso-operator: OktaSAMLApp team-a/crm in cluster c1 (created)."), wantRefusal: "was not made by the operator"},
		"a prefix of the name is another object":          {app: samlApp(other(func(o *owner) { o.name = "crm-old" })), adopt: adopt, wantRefusal: "team-a/crm-old"},
		"a namespace with a slash in the name is refused": {app: samlApp("Managed by okta-sso-operator: OktaSAMLApp team-a/crm/x in cluster c1 (created)."), adopt: adopt, wantRefusal: "team-a/crm/x"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			origin, err := attachApp(tc.app, me, tc.adopt, tc.preconfigured)
			if tc.wantRefusal != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantRefusal) {
					t.Fatalf("want a refusal containing %q, got origin %q, error %v", tc.wantRefusal, origin, err)
				}
				if c := asCondition(err); c == nil || c.reason != ssov1.NotOwnedReason || !c.stalled {
					t.Errorf("want a stalled NotOwned condition, got %#v", c)
				}
				return
			}
			if err != nil || origin != tc.wantOrigin {
				t.Fatalf("want origin %q, got %q, error %v", tc.wantOrigin, origin, err)
			}
		})
	}
}

func TestOwnerNoteKeepsAPersonsNote(t *testing.T) {
	me := owner{kind: "OktaSAMLApp", namespace: "team-a", name: "crm", cluster: "c1", origin: ssov1.OriginAdopted}
	note := withOwner(me, "Owner: IT\nTicket 42")
	noted, rest, ok := parseOwner(note)
	if !ok || noted != me || rest != "Owner: IT\nTicket 42" {
		t.Fatalf("parseOwner(%q) = %+v, %q, %v", note, noted, rest, ok)
	}
	if _, rest, ok := parseOwner("Owner: IT"); ok || rest != "Owner: IT" {
		t.Errorf("a person's note read as an owner: %v, rest %q", ok, rest)
	}
	if withOwner(me, "") != me.line() {
		t.Errorf("an owner note with nothing after it has a trailing newline")
	}
}

func TestReadAdoptRequest(t *testing.T) {
	tests := map[string]struct {
		value   *string
		want    adoptRequest
		wantErr bool
	}{
		"absent":  {want: adoptRequest{}},
		"false":   {value: ptrTo("false"), want: adoptRequest{}},
		"true":    {value: ptrTo("true"), want: adoptRequest{requested: true}},
		"Orphan":  {value: ptrTo("Orphan"), want: adoptRequest{requested: true}},
		"Delete":  {value: ptrTo("Delete"), want: adoptRequest{requested: true, deleteWithObject: true}},
		"a typo":  {value: ptrTo("yes"), wantErr: true},
		"delete":  {value: ptrTo("delete"), wantErr: true},
		"TRUE":    {value: ptrTo("TRUE"), wantErr: true},
		"spacing": {value: ptrTo(" true"), wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			annotations := map[string]string{}
			if tc.value != nil {
				annotations[ssov1.AdoptAnnotation] = *tc.value
			}
			got, err := readAdoptRequest(annotations)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Fatalf("readAdoptRequest(%v) = %+v, %v", tc.value, got, err)
			}
			if err != nil && !isInvalidSpec(err) {
				t.Errorf("a bad value is not InvalidSpec: %v", err)
			}
		})
	}
}

func TestKeepOnDelete(t *testing.T) {
	tests := map[string]struct {
		origin ssov1.Origin
		policy ssov1.DeletionPolicy
		adopt  adoptRequest
		keep   bool
	}{
		"created, Delete":                    {ssov1.OriginCreated, ssov1.DeletionPolicyDelete, adoptRequest{}, false},
		"created, Orphan":                    {ssov1.OriginCreated, ssov1.DeletionPolicyOrphan, adoptRequest{}, true},
		"adopted, Delete":                    {ssov1.OriginAdopted, ssov1.DeletionPolicyDelete, adoptRequest{requested: true}, true},
		"adopted, the request gone":          {ssov1.OriginAdopted, ssov1.DeletionPolicyDelete, adoptRequest{}, true},
		"adopted, asked to delete":           {ssov1.OriginAdopted, ssov1.DeletionPolicyDelete, adoptRequest{requested: true, deleteWithObject: true}, false},
		"adopted, asked to delete, Orphan":   {ssov1.OriginAdopted, ssov1.DeletionPolicyOrphan, adoptRequest{requested: true, deleteWithObject: true}, true},
		"created before origins were stored": {"", ssov1.DeletionPolicyDelete, adoptRequest{}, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := keepOnDelete(tc.origin, tc.policy, tc.adopt); got != tc.keep {
				t.Fatalf("keepOnDelete = %v, want %v", got, tc.keep)
			}
		})
	}
}

func TestAttachIdP(t *testing.T) {
	saml := okta.IdentityProvider{"id": "0oaADFS", "name": "Corporate ADFS", "type": "SAML2"}
	tests := map[string]struct {
		idp         okta.IdentityProvider
		adopt       adoptRequest
		wantRefusal string
	}{
		"SAML2, requested":         {idp: saml, adopt: adoptRequest{requested: true}},
		"SAML2, not requested":     {idp: saml, wantRefusal: `("Corporate ADFS") is not recorded as this object`},
		"OIDC, requested: refused": {idp: okta.IdentityProvider{"id": "0oaG", "name": "Google", "type": "GOOGLE"}, adopt: adoptRequest{requested: true}, wantRefusal: "of type GOOGLE, not SAML2"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := attachIdP(tc.idp, tc.adopt)
			if tc.wantRefusal == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantRefusal) || asCondition(err).reason != ssov1.NotOwnedReason {
				t.Fatalf("want a NotOwned refusal containing %q, got %v", tc.wantRefusal, err)
			}
		})
	}
}

func TestClusterID(t *testing.T) {
	kubeSystem := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "kube-system", UID: "3f0c9a7e-uid"}}
	named := &ClusterID{Name: "prod-eu-1", Reader: fake.NewClientBuilder().Build()}
	if err := named.Resolve(context.Background()); err != nil || named.String() != "prod-eu-1" {
		t.Fatalf("a name given is kept: %q, %v", named.String(), err)
	}
	read := &ClusterID{Reader: fake.NewClientBuilder().WithObjects(kubeSystem).Build()}
	if err := read.Resolve(context.Background()); err != nil || read.String() != "3f0c9a7e-uid" {
		t.Fatalf("the kube-system namespace's UID: %q, %v", read.String(), err)
	}
	missing := &ClusterID{Reader: fake.NewClientBuilder().Build()}
	if err := missing.Resolve(context.Background()); err == nil || !strings.Contains(err.Error(), "--cluster-id") {
		t.Fatalf("an unreadable kube-system says how to name the cluster instead: %v", err)
	}
}
