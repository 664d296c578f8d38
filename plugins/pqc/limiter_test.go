package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
)

// TestSlowQueueBurst fires a burst of SLH-DSA-SHA2-128s signatures at a
// server allowing one running and one queued slow operation. The running one
// is held inside the limiter until the test releases it, so the outcome does
// not depend on timing: exactly one runs, one waits, and every other request
// is answered 503 busy with a Retry-After while the first is still held,
// that is, without waiting for a slot.
func TestSlowQueueBurst(t *testing.T) {
	const burst = 6
	s := newTestServer(t, config{SLHDSAMaxConcurrency: 1, SLHDSAQueueDepth: 1}, nil)
	h := s.Handler()
	var kg sigKeygenResponse
	post(t, h, "/pqc/slh-dsa/keygen", sigKeygenRequest{Algorithm: "SLH-DSA-SHA2-128s", Seed: encode64(make([]byte, 48))}, &kg)

	var running, maxRunning atomic.Int32
	gate := make(chan struct{})
	started := make(chan struct{}, burst)
	queued := make(chan struct{}, burst)
	s.slow.hooks = &limiterHooks{
		queued: func() { queued <- struct{}{} },
		start: func() {
			n := running.Add(1)
			for {
				m := maxRunning.Load()
				if n <= m || maxRunning.CompareAndSwap(m, n) {
					break
				}
			}
			started <- struct{}{}
			<-gate
		},
		done: func() { running.Add(-1) },
	}

	body, err := json.Marshal(sigSignRequest{Algorithm: "SLH-DSA-SHA2-128s", PrivateKey: kg.PrivateKey, Message: encode64([]byte("burst")), Deterministic: new(bool)})
	if err != nil {
		t.Fatal(err)
	}
	type answer struct {
		code       int
		retryAfter string
		err        string
	}
	answers := make(chan answer, burst)
	var wg sync.WaitGroup
	for range burst {
		wg.Go(func() {
			req := httptest.NewRequest(http.MethodPost, "/pqc/slh-dsa/sign", bytes.NewReader(body))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			var e apiErr
			_ = json.Unmarshal(rec.Body.Bytes(), &e)
			answers <- answer{rec.Code, rec.Header().Get("Retry-After"), e.Error}
		})
	}
	// Two are admitted (one runs, one waits); the other four are refused
	// while the running one is still held at the gate.
	<-started
	<-queued
	<-queued
	for range burst - 2 {
		a := <-answers
		if a.code != http.StatusServiceUnavailable || a.err != codeBusy || a.retryAfter == "" {
			t.Fatalf("refused request: %+v, want 503 busy with Retry-After", a)
		}
	}
	close(gate)
	wg.Wait()
	close(answers)
	ok := 0
	for a := range answers {
		if a.code != http.StatusOK {
			t.Fatalf("admitted request: %+v", a)
		}
		ok++
	}
	if ok != 2 {
		t.Fatalf("%d admitted requests succeeded, want 2", ok)
	}
	if m := maxRunning.Load(); m != 1 {
		t.Fatalf("%d slow operations ran at once, want at most 1", m)
	}
}

// TestSlowQueueLeaves checks that a queued request whose client goes away
// frees its place.
func TestSlowQueueLeaves(t *testing.T) {
	l := newSlowLimiter(1, 1)
	hold, release := make(chan struct{}), make(chan struct{})
	go func() {
		_ = l.do(context.Background(), func() error { close(hold); <-release; return nil })
	}()
	<-hold
	ctx, cancel := context.WithCancel(context.Background())
	l.hooks = &limiterHooks{queued: cancel}
	if err := l.do(ctx, func() error { return nil }); err == nil {
		t.Fatal("a cancelled queued request ran")
	}
	l.hooks = &limiterHooks{}
	if got := l.admitted.Load(); got != 1 {
		t.Fatalf("admitted = %d after the client left, want 1", got)
	}
	close(release)
}

func TestRetryAfter(t *testing.T) {
	tests := []struct {
		name               string
		concurrency, queue int
		want               int
	}{
		{"ok/one_slot_no_queue", 1, 0, 1},
		{"ok/one_slot_queue_4", 1, 4, 5},
		{"ok/two_slots_queue_4", 2, 4, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := newSlowLimiter(tc.concurrency, tc.queue).retryAfter; got != tc.want {
				t.Fatalf("retryAfter = %d, want %d", got, tc.want)
			}
		})
	}
}
