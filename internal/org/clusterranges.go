package org

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// ClusterRanges keeps the egress check's view of the cluster's pod and
// service ranges: the ones the --cluster-cidrs flag names and, with
// "auto" there, what the cluster says itself (each Node's spec.podCIDRs,
// each ServiceCIDR), read again every Period as nodes come and go.
type ClusterRanges struct {
	Reader client.Reader
	Egress *Egress
	// Fixed are the ranges the flag names.
	Fixed []netip.Prefix
	// Learn reads the cluster's own ranges ("auto").
	Learn bool
	// Period between reads; 10 minutes when zero.
	Period time.Duration
	Log    logr.Logger
}

// ParseClusterCIDRs reads --cluster-cidrs: CIDR ranges and "auto",
// comma-separated.
func ParseClusterCIDRs(flag string) (fixed []netip.Prefix, learn bool, err error) {
	for _, f := range strings.Split(flag, ",") {
		switch f = strings.TrimSpace(f); f {
		case "":
		case "auto":
			learn = true
		default:
			p, err := netip.ParsePrefix(f)
			if err != nil {
				return nil, false, fmt.Errorf("--cluster-cidrs: %q is not a CIDR range (such as 10.244.0.0/16) nor auto", f)
			}
			fixed = append(fixed, p.Masked())
		}
	}
	return fixed, learn, nil
}

// Start sets the fixed ranges at once and, when learning, reads the
// cluster's every Period until ctx ends. Every replica needs them, leader
// or not (the event hook and the org checks run on every replica).
func (c *ClusterRanges) Start(ctx context.Context) error {
	c.Egress.SetClusterRanges(c.Fixed)
	if !c.Learn {
		return nil
	}
	period := c.Period
	if period == 0 {
		period = 10 * time.Minute
	}
	for {
		learned, err := c.read(ctx)
		if err != nil {
			// Keep what was known: the private ranges are refused anyway,
			// and most clusters' ranges are among them.
			c.Log.Error(err, "Reading the cluster's pod and service ranges failed; the egress check keeps the ranges it knew", "fixed", len(c.Fixed))
		} else {
			c.Egress.SetClusterRanges(append(slices.Clone(c.Fixed), learned...))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(period):
		}
	}
}

// NeedLeaderElection: every replica checks connections.
func (c *ClusterRanges) NeedLeaderElection() bool { return false }

// read lists the nodes' pod ranges and the ServiceCIDRs, a page at a time.
func (c *ClusterRanges) read(ctx context.Context) ([]netip.Prefix, error) {
	var ranges []string
	var nodes corev1.NodeList
	for opts := (&client.ListOptions{Limit: 500}); ; opts.Continue = nodes.Continue {
		if err := c.Reader.List(ctx, &nodes, opts); err != nil {
			return nil, fmt.Errorf("listing nodes: %w", err)
		}
		for _, n := range nodes.Items {
			ranges = append(ranges, n.Spec.PodCIDRs...)
		}
		if nodes.Continue == "" {
			break
		}
	}
	var services networkingv1.ServiceCIDRList
	if err := c.Reader.List(ctx, &services); err != nil {
		return nil, fmt.Errorf("listing ServiceCIDRs: %w", err)
	}
	for _, s := range services.Items {
		ranges = append(ranges, s.Spec.CIDRs...)
	}
	return mergeRanges(ranges), nil
}

// mergeRanges parses the ranges, drops the ones another contains.
func mergeRanges(ranges []string) []netip.Prefix {
	var out []netip.Prefix
	for _, r := range ranges {
		p, err := netip.ParsePrefix(r)
		if err != nil {
			continue
		}
		p = p.Masked()
		if !slices.ContainsFunc(out, func(q netip.Prefix) bool { return q.Bits() <= p.Bits() && q.Contains(p.Addr()) }) {
			out = append(out, p)
		}
	}
	return out
}
