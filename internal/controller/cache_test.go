package controller

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
)

func TestSlimForCache(t *testing.T) {
	owner := []metav1.OwnerReference{{Kind: "OktaSAMLApp", Name: "portal", UID: "u1"}}
	managed := []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}
	big := map[string]string{"kubectl.kubernetes.io/last-applied-configuration": "{...4 KiB...}"}
	tests := map[string]struct {
		in, want any
	}{
		"metadata of a Secret keeps name, namespace, version and owners only": {
			in: &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "ns", UID: "u2", ResourceVersion: "7",
				OwnerReferences: owner, Annotations: big, Labels: map[string]string{"a": "b"}, ManagedFields: managed}},
			want: &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "ns", ResourceVersion: "7", OwnerReferences: owner}},
		},
		"a typed object loses managed fields, keeps annotations": {
			in:   &ssov1.OktaSAMLApp{ObjectMeta: metav1.ObjectMeta{Name: "a", Annotations: big, ManagedFields: managed}},
			want: &ssov1.OktaSAMLApp{ObjectMeta: metav1.ObjectMeta{Name: "a", Annotations: big}},
		},
		"anything else passes unchanged": {in: "tombstone", want: "tombstone"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := slimForCache(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("slimForCache (-want +got):\n%s", diff)
			}
		})
	}
}
