package org

// Where the operator may connect for a namespace. The manager sits inside
// the cluster holding every team's credentials, so a URL a team chooses (a
// SCIM target, a namespaced org's URL) must not reach what only the
// cluster can reach: the node's loopback, the cloud's metadata service,
// the pods and services, the private network. The check is made on the
// addresses a name resolves to when the connection is made, and the
// connection goes to the address checked, so a name that resolves to a
// public address for a check and a private one a moment later (DNS
// rebinding) cannot slip through.

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"
)

// Kinds of address a tenant-chosen URL may not reach unless allowed.
var (
	loopbackRanges  = prefixes("127.0.0.0/8", "::1/128")
	linkLocalRanges = prefixes("169.254.0.0/16", "fe80::/10") // the cloud metadata services (169.254.169.254, fd00:ec2::254 is private below)
	privateRanges   = prefixes("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7")
	// Addresses that are no host at all (this network, multicast,
	// broadcast, reserved): never dialed.
	neverRanges = prefixes("0.0.0.0/8", "224.0.0.0/3", "::/128", "ff00::/8")
)

// Egress checks the connections made for a namespace. The manager has one;
// each org gets the targets its object allows (Targets).
type Egress struct {
	// AllowLoopback lets tenant URLs reach the manager's own host: the
	// --allow-loopback-targets flag, for development and tests only.
	AllowLoopback bool
	// Lookup resolves a host name; net.DefaultResolver when nil (tests
	// make a name resolve where they need it).
	Lookup func(ctx context.Context, host string) ([]netip.Addr, error)
	// Timeout bounds making a connection; 10 s when zero.
	Timeout time.Duration

	cluster atomic.Pointer[[]netip.Prefix]
}

// SetClusterRanges says which ranges are the cluster's pods and services
// (the --cluster-cidrs flag, or what the cluster's nodes and ServiceCIDRs
// say); refused like private ranges, and only a ClusterOktaOrg can allow them.
func (e *Egress) SetClusterRanges(ranges []netip.Prefix) {
	e.cluster.Store(&ranges)
}

// ClusterRanges is what SetClusterRanges last set.
func (e *Egress) ClusterRanges() []netip.Prefix {
	if p := e.cluster.Load(); p != nil {
		return *p
	}
	return nil
}

// Targets is what one org object allows its namespace to connect to.
type Targets struct {
	egress *Egress
	// allowed are the ranges the org object lists in allowedTargets.
	allowed []netip.Prefix
	// platform is a ClusterOktaOrg: the platform team's word, which may open
	// link-local and the cluster's ranges too; a team's OktaOrg may open
	// only private ranges outside the cluster.
	platform bool
	// who names where the allowed list is, for the refusal.
	who string
}

// Targets makes the connection check for one org object's allowed list.
func (e *Egress) Targets(allowed []string, platform bool, who string) (*Targets, error) {
	t := &Targets{egress: e, platform: platform, who: who}
	for _, a := range allowed {
		p, err := ParseTarget(a)
		if err != nil {
			return nil, &InvalidError{fmt.Sprintf("%s: allowedTargets: %v", who, err)}
		}
		t.allowed = append(t.allowed, p)
	}
	return t, nil
}

// ParseTarget reads an allowedTargets entry: a CIDR or a single address.
func ParseTarget(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	return netip.Prefix{}, fmt.Errorf("%q is neither an address nor a CIDR range such as 10.20.0.0/16", s)
}

// RefusedError is a connection the egress check refused: nothing was sent.
type RefusedError struct{ Msg string }

func (e *RefusedError) Error() string { return e.Msg }

// Refused marks the error as final: trying again reaches the same address.
func (e *RefusedError) Refused() bool { return true }

// DialContext resolves the host, checks every address it resolves to, and
// connects to a checked one. A name with any refused address is refused
// as a whole: its owner chooses which one a client gets.
func (t *Targets) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	addrs, err := t.resolve(ctx, host)
	if err != nil {
		return nil, err
	}
	for _, a := range addrs {
		if why := t.refuses(a); why != "" {
			return nil, &RefusedError{fmt.Sprintf("%s resolves to %s, which the operator does not connect to for a namespace unless %s lists it in allowedTargets; nothing was sent", host, why, t.who)}
		}
	}
	d := net.Dialer{Timeout: t.egress.timeout()}
	var last error
	for _, a := range addrs {
		conn, err := d.DialContext(ctx, network, net.JoinHostPort(a.String(), port))
		if err == nil {
			return conn, nil
		}
		last = err
	}
	return nil, last
}

func (e *Egress) timeout() time.Duration {
	if e.Timeout == 0 {
		return 10 * time.Second
	}
	return e.Timeout
}

func (t *Targets) resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{a.Unmap()}, nil
	}
	lookup := t.egress.Lookup
	if lookup == nil {
		lookup = func(ctx context.Context, host string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		}
	}
	addrs, err := lookup(ctx, host)
	if err != nil {
		return nil, err
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("%s resolves to no address", host)
	}
	for i := range addrs {
		addrs[i] = addrs[i].Unmap()
	}
	return addrs, nil
}

// refuses says what kind of address a is when it may not be reached, or "".
func (t *Targets) refuses(a netip.Addr) string {
	switch {
	case contains(neverRanges, a) || a.IsMulticast():
		return "an address that is no host"
	case contains(loopbackRanges, a):
		if t.egress.AllowLoopback {
			return ""
		}
		return "a loopback address (allowed only with the manager's --allow-loopback-targets, for development)"
	case contains(t.allowed, a) && (t.platform || !t.platformOnly(a)):
		return ""
	case contains(linkLocalRanges, a):
		return "a link-local address (the cloud's metadata service lives there)" + t.onlyPlatform()
	case contains(t.egress.ClusterRanges(), a):
		return "an address of the cluster's pods or services" + t.onlyPlatform()
	case contains(privateRanges, a):
		return "a private address"
	}
	return ""
}

// platformOnly is an address a team's own OktaOrg cannot open.
func (t *Targets) platformOnly(a netip.Addr) bool {
	return contains(linkLocalRanges, a) || contains(t.egress.ClusterRanges(), a)
}

func (t *Targets) onlyPlatform() string {
	if t.platform {
		return ""
	}
	return " (only a ClusterOktaOrg's tenant rule can allow it)"
}

func contains(ranges []netip.Prefix, a netip.Addr) bool {
	for _, p := range ranges {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func prefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}
