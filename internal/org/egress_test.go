package org

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
)

func TestEgressDecisions(t *testing.T) {
	podRange := netip.MustParsePrefix("10.244.0.0/16")
	cases := []struct {
		name          string
		addr          string
		allowLoopback bool
		allowed       []string
		platform      bool
		refused       string // what the refusal says the address is; "" when allowed
	}{
		{name: "public address", addr: "203.0.113.10"},
		{name: "cloud metadata", addr: "169.254.169.254", refused: "link-local"},
		{name: "cloud metadata with the loopback flag on", addr: "169.254.169.254", allowLoopback: true, refused: "link-local"},
		{name: "cloud metadata as an IPv4-mapped IPv6 address", addr: "::ffff:169.254.169.254", refused: "link-local"},
		{name: "AWS metadata over IPv6", addr: "fd00:ec2::254", refused: "private"},
		{name: "pod address", addr: "10.244.3.7", refused: "cluster's pods"},
		{name: "pod address with the loopback flag on", addr: "10.244.3.7", allowLoopback: true, refused: "cluster's pods"},
		{name: "pod address a team's OktaOrg lists", addr: "10.244.3.7", allowed: []string{"10.244.0.0/16"}, refused: "only a ClusterOktaOrg"},
		{name: "pod address a ClusterOktaOrg lists", addr: "10.244.3.7", allowed: []string{"10.244.0.0/16"}, platform: true},
		{name: "metadata a team's OktaOrg lists", addr: "169.254.169.254", allowed: []string{"169.254.169.254"}, refused: "only a ClusterOktaOrg"},
		{name: "private address", addr: "192.168.1.20", refused: "private"},
		{name: "private address the OktaOrg lists", addr: "192.168.1.20", allowed: []string{"192.168.1.0/24"}},
		{name: "private address outside what the org lists", addr: "192.168.2.20", allowed: []string{"192.168.1.0/24"}, refused: "private"},
		{name: "shared address space", addr: "100.64.1.1", refused: "private"},
		{name: "loopback with the flag off", addr: "127.0.0.1", refused: "loopback"},
		{name: "loopback a ClusterOktaOrg lists, flag off", addr: "127.0.0.1", allowed: []string{"127.0.0.0/8"}, platform: true, refused: "loopback"},
		{name: "loopback with the flag on", addr: "127.0.0.1", allowLoopback: true},
		{name: "IPv6 loopback with the flag off", addr: "::1", refused: "loopback"},
		{name: "this network", addr: "0.0.0.0", allowLoopback: true, refused: "no host"},
		{name: "multicast", addr: "239.1.1.1", refused: "no host"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := &Egress{AllowLoopback: tc.allowLoopback}
			e.SetClusterRanges([]netip.Prefix{podRange})
			targets, err := e.Targets(tc.allowed, tc.platform, "OktaOrg team-a/okta")
			if err != nil {
				t.Fatal(err)
			}
			got := targets.refuses(netip.MustParseAddr(tc.addr).Unmap())
			if tc.refused == "" && got != "" {
				t.Fatalf("refused: %s", got)
			}
			if !strings.Contains(got, tc.refused) {
				t.Fatalf("got %q, want it to say %q", got, tc.refused)
			}
		})
	}
}

// A refused name is never dialed, whatever the name, and the refusal says
// what the address is, never the address itself.
func TestEgressRefusesBeforeConnecting(t *testing.T) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer listener.Close()
	var accepted atomic.Int32
	go func() {
		for {
			c, err := listener.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()
	_, port, _ := net.SplitHostPort(listener.Addr().String())
	resolvesTo := map[string][]string{
		"metadata.example.com": {"169.254.169.254"},
		"pod.example.com":      {"10.244.3.7"},
		// one public and one private address: the owner of the name picks
		// which one a client uses, so the whole name is refused.
		"rebind.example.com": {"203.0.113.10", "127.0.0.1"},
		"local.example.com":  {"127.0.0.1"},
	}
	lookup := func(_ context.Context, host string) ([]netip.Addr, error) {
		var out []netip.Addr
		for _, a := range resolvesTo[host] {
			out = append(out, netip.MustParseAddr(a))
		}
		return out, nil
	}
	for _, tc := range []struct {
		host          string
		allowLoopback bool
		dialed        bool
	}{
		{host: "metadata.example.com"},
		{host: "metadata.example.com", allowLoopback: true},
		{host: "pod.example.com", allowLoopback: true},
		{host: "rebind.example.com"},
		{host: "local.example.com"},
		{host: "local.example.com", allowLoopback: true, dialed: true},
	} {
		e := &Egress{AllowLoopback: tc.allowLoopback, Lookup: lookup}
		e.SetClusterRanges([]netip.Prefix{netip.MustParsePrefix("10.244.0.0/16")})
		targets, _ := e.Targets(nil, false, "OktaOrg team-a/okta")
		before := accepted.Load()
		conn, err := targets.DialContext(context.Background(), "tcp", net.JoinHostPort(tc.host, port))
		if tc.dialed {
			if err != nil {
				t.Fatalf("%s: %v", tc.host, err)
			}
			conn.Close()
			continue
		}
		var refused *RefusedError
		if !errors.As(err, &refused) {
			t.Fatalf("%s (loopback flag %v): want a refusal, got %v", tc.host, tc.allowLoopback, err)
		}
		for _, a := range resolvesTo[tc.host] {
			if strings.Contains(err.Error(), a) {
				t.Fatalf("the refusal names the address %s: %v", a, err)
			}
		}
		if !strings.Contains(err.Error(), "nothing was sent") || !strings.Contains(err.Error(), "OktaOrg team-a/okta") {
			t.Fatalf("the refusal does not say what to do: %v", err)
		}
		if accepted.Load() != before {
			t.Fatalf("%s: a refused name was connected to", tc.host)
		}
	}
}

func TestParseClusterCIDRs(t *testing.T) {
	fixed, learn, err := ParseClusterCIDRs("auto, 10.96.0.0/12,10.244.1.9/16")
	if err != nil || !learn || len(fixed) != 2 || fixed[1].String() != "10.244.0.0/16" {
		t.Fatalf("got %v %v %v", fixed, learn, err)
	}
	if _, _, err := ParseClusterCIDRs("10.96.0.0"); err == nil {
		t.Fatal("an address without a length was taken for a range")
	}
	if got := mergeRanges([]string{"10.244.1.0/24", "10.244.0.0/16", "10.244.2.0/24", "fd00::/48", "junk"}); len(got) != 3 {
		t.Fatalf("merged to %v", got)
	}
}

// The cluster's own ranges are read from its nodes and ServiceCIDRs, and
// added to the ones the flag names.
func TestClusterRangesAreLearned(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	reader := fake.NewClientBuilder().WithScheme(scheme).WithObjects(
		&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}, Spec: corev1.NodeSpec{PodCIDRs: []string{"10.244.1.0/24"}}},
		&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n2"}, Spec: corev1.NodeSpec{PodCIDRs: []string{"10.244.2.0/24", "fd00:10:244:2::/64"}}},
		&networkingv1.ServiceCIDR{ObjectMeta: metav1.ObjectMeta{Name: "kubernetes"}, Spec: networkingv1.ServiceCIDRSpec{CIDRs: []string{"203.0.113.0/24"}}},
	).Build()
	e := &Egress{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		_ = (&ClusterRanges{Reader: reader, Egress: e, Fixed: []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}, Learn: true, Period: time.Hour}).Start(ctx)
		close(done)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for len(e.ClusterRanges()) < 5 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	if got := fmt.Sprint(e.ClusterRanges()); got != "[198.51.100.0/24 10.244.1.0/24 10.244.2.0/24 fd00:10:244:2::/64 203.0.113.0/24]" {
		t.Fatalf("learned %s", got)
	}
	targets, _ := e.Targets(nil, false, "OktaOrg team-a/okta")
	if why := targets.refuses(netip.MustParseAddr("203.0.113.7")); !strings.Contains(why, "cluster's pods or services") {
		t.Fatalf("a service address, public by its range, was not refused: %q", why)
	}
}
