package okta

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
)

// Okta calls per endpoint are a product metric: steady state should cost as
// few as possible. Labels are the org host, the namespace the request was
// for ("" for the org's own work), the rate-limit bucket (an endpoint
// family, never an ID), the method and the status; nothing secret. One
// series per namespace and bucket at most.
var (
	requestsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "okta_requests_total",
		Help: "Okta API requests by org, namespace, endpoint bucket, method and status code (\"error\" when no answer came).",
	}, []string{"org", "namespace", "bucket", "method", "code"})
	requestDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "okta_request_duration_seconds",
		Help:    "Okta API request latency by org, endpoint bucket and method.",
		Buckets: prometheus.ExponentialBuckets(0.01, 2, 12),
	}, []string{"org", "bucket", "method"})
	rateLimitRemaining = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "okta_rate_limit_remaining",
		Help: "Requests left in the current window of each Okta rate-limit bucket, as last learned.",
	}, []string{"org", "bucket"})
	budgetRefusals = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "okta_rate_limit_budget_refusals_total",
		Help: "Requests not sent because the org's rate-limit budget, or the namespace's share of it, was used up.",
	}, []string{"org", "namespace", "bucket"})
)

func init() {
	ctrlmetrics.Registry.MustRegister(requestsTotal, requestDuration, rateLimitRemaining, budgetRefusals)
}

func recordRequest(org, namespace, bucket, method, code string, d time.Duration) {
	requestsTotal.WithLabelValues(org, namespace, bucket, method, code).Inc()
	requestDuration.WithLabelValues(org, bucket, method).Observe(d.Seconds())
}

func recordRemaining(org, bucket string, n int) {
	rateLimitRemaining.WithLabelValues(org, bucket).Set(float64(n))
}

func recordRefusal(org, namespace, bucket string) {
	budgetRefusals.WithLabelValues(org, namespace, bucket).Inc()
}
