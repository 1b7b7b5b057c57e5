package scim

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
)

// SCIM calls by operation are a product metric, like Okta's: a sync that
// changes nothing should write nothing. Labels hold the target host and the
// operation, never an ID, a value or a credential.
var (
	requestsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "scim_requests_total",
		Help: "SCIM requests by target host, operation and status code (\"error\" when no answer came).",
	}, []string{"target", "operation", "code"})
	requestDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "scim_request_duration_seconds",
		Help:    "SCIM request latency by target host and operation.",
		Buckets: prometheus.ExponentialBuckets(0.01, 2, 12),
	}, []string{"target", "operation"})
)

func init() {
	ctrlmetrics.Registry.MustRegister(requestsTotal, requestDuration)
}

func observe(target, op, code string, start time.Time) {
	requestsTotal.WithLabelValues(target, op, code).Inc()
	requestDuration.WithLabelValues(target, op).Observe(time.Since(start).Seconds())
}
