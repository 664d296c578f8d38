package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"time"
)

// Result is what one run measured.
type Result struct {
	// Requests is every request that finished: Responses + Failed.
	Requests int
	// Responses is the requests that got an HTTP response, whatever its status.
	Responses int
	// OK is the responses with a 2xx status.
	OK int
	// Failed is the requests that ended in a transport error (no response).
	Failed int
	// Elapsed is the wall time from the first request to the last response.
	Elapsed time.Duration
	// Latencies holds one entry per response, sorted ascending. Transport
	// errors are not in it (a refused connection would look fast).
	Latencies []time.Duration
	// Status counts responses by HTTP status code.
	Status map[int]int
	// Errors counts transport errors by class (see classify).
	Errors map[string]int
	// ErrorSamples keeps the first message seen for each error class.
	ErrorSamples map[string]string
	// BytesIn is the response body bytes read.
	BytesIn int64
}

// Throughput is finished requests per second over the whole run.
func (r *Result) Throughput() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

// OKThroughput is 2xx responses per second over the whole run.
func (r *Result) OKThroughput() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.OK) / r.Elapsed.Seconds()
}

// Percentile returns the nearest-rank p-th percentile (0 < p ≤ 100) of the
// response latencies, or 0 when there were none.
func (r *Result) Percentile(p float64) time.Duration {
	n := len(r.Latencies)
	if n == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(n)))
	return r.Latencies[min(max(rank, 1), n)-1]
}

// Mean returns the mean response latency, or 0 when there were none.
func (r *Result) Mean() time.Duration {
	if len(r.Latencies) == 0 {
		return 0
	}
	var sum time.Duration
	for _, d := range r.Latencies {
		sum += d
	}
	return sum / time.Duration(len(r.Latencies))
}

// Summary is the JSON form of a Result (-json).
type Summary struct {
	URL          string            `json:"url"`
	Method       string            `json:"method"`
	Concurrency  int               `json:"concurrency"`
	Requests     int               `json:"requests"`
	Responses    int               `json:"responses"`
	OK           int               `json:"ok"`
	Failed       int               `json:"failed"`
	DurationSecs float64           `json:"duration_s"`
	RPS          float64           `json:"rps"`
	OKRPS        float64           `json:"ok_rps"`
	LatencyMs    LatencySummary    `json:"latency_ms"`
	Status       map[string]int    `json:"status"`
	Errors       map[string]int    `json:"errors"`
	ErrorSamples map[string]string `json:"error_samples,omitempty"`
	BytesIn      int64             `json:"bytes_in"`
}

// LatencySummary holds latency percentiles in milliseconds.
type LatencySummary struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

// Summarize returns the JSON form of r for the run cfg described.
func (r *Result) Summarize(cfg Config) Summary {
	s := Summary{
		URL:          cfg.URL,
		Method:       cfg.Method,
		Concurrency:  cfg.Concurrency,
		Requests:     r.Requests,
		Responses:    r.Responses,
		OK:           r.OK,
		Failed:       r.Failed,
		DurationSecs: r.Elapsed.Seconds(),
		RPS:          r.Throughput(),
		OKRPS:        r.OKThroughput(),
		LatencyMs: LatencySummary{
			P50:  ms(r.Percentile(50)),
			P90:  ms(r.Percentile(90)),
			P99:  ms(r.Percentile(99)),
			Max:  ms(r.Percentile(100)),
			Mean: ms(r.Mean()),
		},
		Status:       map[string]int{},
		Errors:       r.Errors,
		ErrorSamples: r.ErrorSamples,
		BytesIn:      r.BytesIn,
	}
	for code, n := range r.Status {
		s.Status[strconv.Itoa(code)] = n
	}
	if len(s.ErrorSamples) == 0 {
		s.ErrorSamples = nil
	}
	return s
}

// ms converts d to milliseconds with microsecond resolution.
func ms(d time.Duration) float64 { return math.Round(float64(d.Microseconds())) / 1000 }

// WriteJSON writes the summary as one JSON object.
func (r *Result) WriteJSON(w io.Writer, cfg Config) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r.Summarize(cfg))
}

// WriteText writes a human-readable report.
func (r *Result) WriteText(w io.Writer, cfg Config) error {
	p := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	p("target       %s %s (concurrency %d)\n", cfg.Method, cfg.URL, cfg.Concurrency)
	p("requests     %d (responses %d, 2xx %d, transport errors %d)\n", r.Requests, r.Responses, r.OK, r.Failed)
	p("duration     %s\n", r.Elapsed.Round(time.Millisecond))
	p("throughput   %.1f req/s (2xx %.1f/s)\n", r.Throughput(), r.OKThroughput())
	p("latency      p50 %s  p90 %s  p99 %s  max %s  mean %s\n",
		round(r.Percentile(50)), round(r.Percentile(90)), round(r.Percentile(99)), round(r.Percentile(100)), round(r.Mean()))
	p("status      ")
	if len(r.Status) == 0 {
		p(" none")
	}
	for _, code := range slices.Sorted(maps.Keys(r.Status)) {
		p(" %d:%d", code, r.Status[code])
	}
	p("\nerrors      ")
	if len(r.Errors) == 0 {
		p(" none")
	}
	for _, c := range slices.Sorted(maps.Keys(r.Errors)) {
		p(" %s:%d", c, r.Errors[c])
	}
	p("\n")
	for _, c := range slices.Sorted(maps.Keys(r.ErrorSamples)) {
		p("  e.g. %s: %s\n", c, r.ErrorSamples[c])
	}
	return nil
}

// round shortens a latency for display.
func round(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	default:
		return d.Round(time.Microsecond)
	}
}
