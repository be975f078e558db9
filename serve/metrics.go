package serve

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the server's Prometheus series, on a registry of its own.
type metrics struct {
	reg *prometheus.Registry

	requests  *prometheus.CounterVec   // route, code
	duration  *prometheus.HistogramVec // route
	promptTok *prometheus.CounterVec   // model
	outTok    *prometheus.CounterVec   // model
	ttft      *prometheus.HistogramVec // model
	tokPerSec *prometheus.HistogramVec // model
	finished  *prometheus.CounterVec   // model, reason (stop, length, cancelled, error)
	rejected  *prometheus.CounterVec   // model
}

func newMetrics() *metrics {
	reg := prometheus.NewRegistry()
	m := &metrics{
		reg: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "glossa_http_requests_total",
			Help: "HTTP requests by route and status code."}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "glossa_http_request_duration_seconds",
			Help: "Time to answer an HTTP request (streams: until the last event).", Buckets: prometheus.ExponentialBuckets(0.001, 4, 10)},
			[]string{"route"}),
		promptTok: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "glossa_prompt_tokens_total",
			Help: "Prompt tokens of admitted generation requests (tokens in)."}, []string{"model"}),
		outTok: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "glossa_generated_tokens_total",
			Help: "Generated tokens (tokens out); its rate is the server's tokens/s."}, []string{"model"}),
		ttft: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "glossa_time_to_first_token_seconds",
			Help: "Time from a request's arrival to its first generated token.", Buckets: prometheus.ExponentialBuckets(0.002, 2, 14)},
			[]string{"model"}),
		tokPerSec: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "glossa_sequence_tokens_per_second",
			Help: "Decoding rate of each finished sequence after its first token.", Buckets: prometheus.ExponentialBuckets(1, 2, 16)},
			[]string{"model"}),
		finished: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "glossa_sequences_finished_total",
			Help: "Finished sequences by reason: stop, length, cancelled (client gone or deadline; its slot is freed), error."},
			[]string{"model", "reason"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "glossa_requests_rejected_total",
			Help: "Generation requests answered 503 because every slot and the queue were full."}, []string{"model"}),
	}
	reg.MustRegister(m.requests, m.duration, m.promptTok, m.outTok, m.ttft, m.tokPerSec, m.finished, m.rejected,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// addModel registers the gauges of one model's scheduler.
func (m *metrics) addModel(rt *served) {
	if rt.sched == nil {
		return // no slots: an encoder
	}
	labels := prometheus.Labels{"model": rt.m.ID}
	m.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "glossa_queue_depth", Help: "Requests waiting for a slot.", ConstLabels: labels},
			func() float64 { return float64(rt.sched.Stats().Waiting) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "glossa_slots_active", Help: "Slots (batch rows) decoding a sequence.", ConstLabels: labels},
			func() float64 { return float64(rt.sched.Stats().Active) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "glossa_slots", Help: "Slots (batch rows) of the model.", ConstLabels: labels},
			func() float64 { return float64(rt.sched.Stats().Rows) }),
	)
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}
