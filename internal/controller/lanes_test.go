package controller

import (
	"testing"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
)

func TestOrgLanes(t *testing.T) {
	key := func(name string) types.NamespacedName { return types.NamespacedName{Namespace: "ns", Name: name} }
	woken := func(l *orgLanes) []string {
		var out []string
		for {
			select {
			case e := <-l.ch:
				out = append(out, e.Object.GetName())
			default:
				return out
			}
		}
	}
	l := newOrgLanes(2, func() client.Object { return &ssov1.OktaSAMLApp{} })

	releaseA1, ok1 := l.enter("slow", key("a1"))
	releaseA2, ok2 := l.enter("slow", key("a2"))
	if !ok1 || !ok2 {
		t.Fatal("the first two of an org were not admitted")
	}
	for _, name := range []string{"a3", "a4", "a3"} {
		if _, ok := l.enter("slow", key(name)); ok {
			t.Fatalf("%s was admitted to a full lane", name)
		}
	}
	releaseB, ok := l.enter("quiet", key("b1"))
	if !ok {
		t.Fatal("another org waited for the full one")
	}
	releaseB()
	if got := woken(l); len(got) != 0 {
		t.Fatalf("another org's release woke %v", got)
	}

	releaseA1()
	if got := woken(l); len(got) != 1 || got[0] != "a3" {
		t.Fatalf("woken %v, want the longest parked, a3, once", got)
	}
	releaseA3, ok := l.enter("slow", key("a3"))
	if !ok {
		t.Fatal("the woken request was not admitted")
	}
	releaseA2()
	releaseA3()
	if got := woken(l); len(got) != 1 || got[0] != "a4" {
		t.Fatalf("woken %v, want a4", got)
	}
	if len(l.parked) != 0 || len(l.queued) != 0 || len(l.busy) != 0 {
		t.Errorf("state left: busy %v parked %v", l.busy, l.parked)
	}
}
