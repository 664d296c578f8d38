package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Run sends the load cfg describes and returns what it measured. Request
// failures are data, not errors: Run fails only when cfg is unusable. When
// ctx ends (an interrupt), in-flight requests are abandoned and the results
// gathered so far are returned.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	tr := cfg.transport()
	defer tr.CloseIdleConnections()
	client := &http.Client{
		Transport: tr,
		Timeout:   cfg.Timeout,
		// A redirect is a response like any other: count it, don't follow it.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}

	// stop ends the issuing of new requests (deadline or interrupt); requests
	// already sent run on ctx, so a -duration deadline never cuts one short.
	stop, cancel := context.WithCancel(ctx)
	if cfg.Duration > 0 {
		stop, cancel = context.WithTimeout(ctx, cfg.Duration)
	}
	defer cancel()

	perWorker := 1024
	if cfg.Requests > 0 {
		perWorker = cfg.Requests/cfg.Concurrency + cfg.Requests/(4*cfg.Concurrency) + 16
	} else if cfg.Rate > 0 {
		perWorker = int(cfg.Rate*cfg.Duration.Seconds())/cfg.Concurrency + 16
	}
	perWorker = min(perWorker, 1<<20)

	var next atomic.Int64
	workers := make([]*worker, cfg.Concurrency)
	var wg sync.WaitGroup
	start := time.Now()
	var end time.Time
	if cfg.Duration > 0 {
		end = start.Add(cfg.Duration)
	}
	for i := range workers {
		w := &worker{
			cfg:       &cfg,
			client:    client,
			next:      &next,
			start:     start,
			end:       end,
			latencies: make([]time.Duration, 0, perWorker),
			status:    map[int]int{},
			errs:      map[string]int{},
			samples:   map[string]string{},
		}
		workers[i] = w
		wg.Go(func() { w.loop(ctx, stop) })
	}
	wg.Wait()
	elapsed := time.Since(start)
	return merge(workers, elapsed), nil
}

// worker issues requests one after another and records them privately, so
// the hot path shares nothing but the request counter.
type worker struct {
	cfg    *Config
	client *http.Client
	next   *atomic.Int64
	start  time.Time
	end    time.Time // start + Duration; zero without one

	latencies []time.Duration
	status    map[int]int
	errs      map[string]int
	samples   map[string]string
	bytesIn   int64
}

// loop claims request numbers until the total is reached or stop ends.
func (w *worker) loop(ctx, stop context.Context) {
	for {
		i := w.next.Add(1) - 1
		if w.cfg.Requests > 0 && i >= int64(w.cfg.Requests) {
			return
		}
		if stop.Err() != nil {
			return
		}
		begin := time.Now()
		if w.cfg.Rate > 0 {
			// Request i is due at start + i/rate. Latency counts from that
			// moment, so a generator that falls behind (all workers busy)
			// shows the delay instead of hiding it (coordinated omission).
			due := w.start.Add(time.Duration(float64(i) * float64(time.Second) / w.cfg.Rate))
			// The schedule itself ends the run: the deadline's context may
			// fire late on a busy machine, and a request due after it must
			// not go out meanwhile.
			if !w.end.IsZero() && !due.Before(w.end) {
				return
			}
			if d := time.Until(due); d > 0 {
				t := time.NewTimer(d)
				select {
				case <-stop.Done():
					t.Stop()
					return
				case <-t.C:
				}
			}
			begin = due
		}
		w.one(ctx, begin)
	}
}

// one sends a single request and records its outcome.
func (w *worker) one(ctx context.Context, begin time.Time) {
	req, err := http.NewRequestWithContext(ctx, w.cfg.Method, w.cfg.URL, bytes.NewReader(w.cfg.Body))
	if err != nil {
		w.fail(err)
		return
	}
	for k, vs := range w.cfg.Header {
		req.Header[k] = vs
	}
	if len(w.cfg.Body) > 0 && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := w.client.Do(req)
	if err != nil {
		w.fail(err)
		return
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	w.bytesIn += n
	if err != nil {
		w.fail(err)
		return
	}
	w.latencies = append(w.latencies, time.Since(begin))
	w.status[resp.StatusCode]++
}

// fail records a transport error by class, keeping the first message of
// each class as a sample.
func (w *worker) fail(err error) {
	c := classify(err)
	w.errs[c]++
	if _, ok := w.samples[c]; !ok {
		w.samples[c] = err.Error()
	}
}

// classify names a transport error with a short, stable class.
func classify(err error) string {
	var (
		netErr     net.Error
		dnsErr     *net.DNSError
		certErr    *tls.CertificateVerificationError
		unknownCA  x509.UnknownAuthorityError
		hostErr    x509.HostnameError
		recordErr  tls.RecordHeaderError
		invalidErr x509.CertificateInvalidError
	)
	switch {
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "conn_refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "conn_reset"
	case errors.Is(err, syscall.EPIPE):
		return "broken_pipe"
	case errors.As(err, &dnsErr):
		return "dns"
	case errors.As(err, &certErr), errors.As(err, &unknownCA), errors.As(err, &hostErr),
		errors.As(err, &recordErr), errors.As(err, &invalidErr):
		return "tls"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "eof"
	default:
		return "other"
	}
}

// merge folds the workers' records into one sorted result.
func merge(workers []*worker, elapsed time.Duration) *Result {
	r := &Result{
		Elapsed:      elapsed,
		Status:       map[int]int{},
		Errors:       map[string]int{},
		ErrorSamples: map[string]string{},
	}
	total := 0
	for _, w := range workers {
		total += len(w.latencies)
	}
	r.Latencies = make([]time.Duration, 0, total)
	for _, w := range workers {
		r.Latencies = append(r.Latencies, w.latencies...)
		r.BytesIn += w.bytesIn
		for code, n := range w.status {
			r.Status[code] += n
			r.Responses += n
			if code >= 200 && code < 300 {
				r.OK += n
			}
		}
		for c, n := range w.errs {
			r.Errors[c] += n
			r.Failed += n
			if _, ok := r.ErrorSamples[c]; !ok {
				r.ErrorSamples[c] = w.samples[c]
			}
		}
	}
	r.Requests = r.Responses + r.Failed
	slices.Sort(r.Latencies)
	return r
}
