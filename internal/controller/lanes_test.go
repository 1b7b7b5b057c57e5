package controller

import (
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
)

func TestOrgLanes(t *testing.T) {
	key := func(name string) types.NamespacedName { return types.NamespacedName{Namespace: "ns", Name: name} }
	woken := func(l *lanes) []string {
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
	l := newLanes(2, func() client.Object { return &ssov1.OktaSAMLApp{} })

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

func TestOrgLanesTakeNamespacesInTurn(t *testing.T) {
	l := newLanes(1, func() client.Object { return &ssov1.OktaSAMLApp{} })
	release, _ := l.enter("company", types.NamespacedName{Namespace: "team-a", Name: "busy"})
	for i := range 5 {
		l.enter("company", types.NamespacedName{Namespace: "team-a", Name: string(rune('a' + i))})
	}
	l.enter("company", types.NamespacedName{Namespace: "team-b", Name: "one"})
	var order []string
	for range 3 {
		release()
		e := <-l.ch
		order = append(order, e.Object.GetNamespace()+"/"+e.Object.GetName())
		release, _ = l.enter("company", types.NamespacedName{Namespace: e.Object.GetNamespace(), Name: e.Object.GetName()})
	}
	if want := []string{"team-a/a", "team-b/one", "team-a/b"}; !slices.Equal(order, want) {
		t.Errorf("woken in order %v, want %v: team-b's one request waits one turn, not five", order, want)
	}
}
