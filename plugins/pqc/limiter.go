package main

import (
	"context"
	"sync/atomic"
)

// slowLimiter bounds the slow SLH-DSA ("s" sets) key generations and
// signatures: at most `concurrency` run at once and at most `queue` more wait
// for a slot. Anything beyond is refused at once with 503 busy and a
// Retry-After, so a burst costs the rest of the service nothing but the
// refusals. Waiting requests leave the queue when their client goes away.
//
// Decision (versus a 202 + job URL): a signature is a pure function of the
// request and takes about a second, well within an HTTP timeout; a job store
// would add state, expiry and authorisation for no gain, and would hold
// private keys between requests. Clients already handle 503 + Retry-After.
type slowLimiter struct {
	slots    chan struct{} // one token per running operation
	admitted atomic.Int64  // running + waiting
	capacity int64         // concurrency + queue
	// retryAfter is the Retry-After sent with 503 busy, in seconds.
	retryAfter int
	// hooks observe admission; tests set them before serving.
	hooks *limiterHooks
}

// limiterHooks lets tests observe and pause the limiter. Production leaves
// every field nil.
type limiterHooks struct {
	// queued runs when a request has been admitted and waits for a slot.
	queued func()
	// start runs when an operation takes a slot, before it runs.
	start func()
	// done runs when an operation releases its slot.
	done func()
}

// newSlowLimiter builds a limiter; concurrency ≥ 1 and queue ≥ 0.
func newSlowLimiter(concurrency, queue int) *slowLimiter {
	// Each slow signature takes about a second; a full queue drains in about
	// (queue/concurrency + 1) seconds.
	retry := max(1, (queue+concurrency-1)/concurrency+1)
	return &slowLimiter{
		slots:      make(chan struct{}, concurrency),
		capacity:   int64(concurrency + queue),
		retryAfter: retry,
		hooks:      &limiterHooks{},
	}
}

// do runs fn under the limiter, or returns 503 busy when running and queued
// operations are at capacity. It returns ctx's error when the client leaves
// while queued.
func (l *slowLimiter) do(ctx context.Context, fn func() error) error {
	if l.admitted.Add(1) > l.capacity {
		l.admitted.Add(-1)
		return apiBusy(l.retryAfter)
	}
	defer l.admitted.Add(-1)
	if h := l.hooks.queued; h != nil {
		h()
	}
	select {
	case l.slots <- struct{}{}:
	case <-ctx.Done():
		return apiBusy(l.retryAfter)
	}
	defer func() {
		if h := l.hooks.done; h != nil {
			h()
		}
		<-l.slots
	}()
	if h := l.hooks.start; h != nil {
		h()
	}
	return fn()
}
