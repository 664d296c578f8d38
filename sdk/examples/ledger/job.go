package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/aunsorm/aunsorm/sdk/store"
)

// job is the periodic task: once per period of the attested clock, across
// every daemon sharing the store, it records a run. It stands for the jobs
// real services run the same way (CRL regeneration, key rotation).
type job struct {
	db       *store.DB
	lease    *store.Lease
	holder   string
	interval time.Duration
	now      store.Clock
	log      zerolog.Logger
}

func newJob(db *store.DB, cfg config, holder string, now store.Clock, log zerolog.Logger) (*job, error) {
	lease, err := db.NewLease(store.LeaseOptions{Name: "ledger-job", Holder: holder, TTL: cfg.ttl, Now: now})
	if err != nil {
		return nil, err
	}
	return &job{db: db, lease: lease, holder: holder, interval: cfg.interval, now: now, log: log}, nil
}

// tick period: a holder renews its lease at least three times per term.
func (j *job) tick() time.Duration {
	return min(j.interval/2, j.lease.TTL()/3)
}

// run ticks until ctx ends, then releases the lease.
func (j *job) run(ctx context.Context) {
	t := time.NewTicker(j.tick())
	defer t.Stop()
	for {
		if err := j.step(ctx); err != nil && ctx.Err() == nil && !errors.Is(err, store.ErrLeaseHeld) {
			j.log.Warn().Err(err).Msg("ledger job")
		}
		select {
		case <-ctx.Done():
			rctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_ = j.lease.Release(rctx)
			cancel()
			return
		case <-t.C:
		}
	}
}

// step takes or renews the lease and, holding it, records this period's
// run unless some holder already did.
func (j *job) step(ctx context.Context) error {
	token, err := j.lease.Acquire(ctx)
	if err != nil {
		return err
	}
	now, err := j.now()
	if err != nil {
		return err
	}
	period := now.UnixNano() / j.interval.Nanoseconds()
	return j.db.Tx(ctx, func(tx *sql.Tx) error {
		// The fencing check: a holder that stalled past its term and was
		// replaced stops here, and the replacement's takeover waits for
		// this transaction.
		if err := j.lease.Guard(ctx, tx, token); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, j.db.Rebind(`SELECT COUNT(*) FROM job_runs WHERE period = ?`), period).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		seq, err := j.db.NextTx(ctx, tx, "job_runs")
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, j.db.Rebind(`INSERT INTO job_runs (seq, period, holder, token, ran_ns) VALUES (?, ?, ?, ?, ?)`),
			seq, period, j.holder, token, now.UnixNano())
		if err != nil {
			return fmt.Errorf("record run: %w", err)
		}
		return nil
	})
}
