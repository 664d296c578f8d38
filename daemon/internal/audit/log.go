package audit

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/aunsorm/aunsorm/sdk/store"
)

// migrations is the schema history of the audit database.
var migrations = []store.Migration{
	{Version: 1, Name: "audit_log", Up: `CREATE TABLE audit_log (
		seq       INTEGER PRIMARY KEY,
		time_ns   INTEGER NOT NULL,
		source    TEXT NOT NULL,
		action    TEXT NOT NULL,
		subject   TEXT NOT NULL,
		outcome   TEXT NOT NULL,
		details   TEXT NOT NULL,
		prev_hash BLOB NOT NULL,
		hash      BLOB NOT NULL
	)`},
}

// recordColumns lists the columns scanRecord reads, in order.
const recordColumns = `seq, time_ns, source, action, subject, outcome, details, prev_hash, hash`

// List bounds.
const (
	// DefaultListLimit is the page size List uses when limit is zero or
	// negative.
	DefaultListLimit = 100
	// MaxListLimit is the largest page List returns.
	MaxListLimit = 1000
)

// Log is an open audit log. It is safe for concurrent use.
type Log struct {
	db *store.DB
	// mu serialises appends so that each one links to the one before.
	mu sync.Mutex
	// now supplies the time of events appended without one.
	now func() time.Time

	// prefixMu guards prefix, the records VerifyPrefix has already checked.
	prefixMu sync.Mutex
	prefix   verifiedPrefix
}

// verifiedPrefix is the run of records 1..seq already checked; hash is the
// Hash of record seq (zero when seq is 0).
type verifiedPrefix struct {
	seq  uint64
	hash [32]byte
}

// Option configures Open.
type Option func(*Log)

// WithClock stamps events appended without a Time with now. The daemon
// passes its attested clock; the default is the local clock.
func WithClock(now func() time.Time) Option {
	return func(l *Log) {
		if now != nil {
			l.now = now
		}
	}
}

// Open opens (creating if needed) the audit log stored in the SQLite file at
// path. The caller must Close it.
func Open(ctx context.Context, path string, opts ...Option) (*Log, error) {
	db, err := store.Open(ctx, store.Options{Path: path, Migrations: migrations})
	if err != nil {
		return nil, fmt.Errorf("audit: open: %w", err)
	}
	l := &Log{db: db, now: time.Now}
	for _, o := range opts {
		o(l)
	}
	return l, nil
}

// Close closes the log.
func (l *Log) Close() error {
	if err := l.db.Close(); err != nil {
		return fmt.Errorf("audit: close: %w", err)
	}
	return nil
}

// Append validates e, links it to the current head and stores it. When it
// returns without error the record is on disk. An invalid event is rejected
// with ErrInvalidEvent and nothing is written.
func (l *Log) Append(ctx context.Context, e Event) (Record, error) {
	ev, err := normalize(e, l.now)
	if err != nil {
		return Record{}, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var rec Record
	err = l.db.Tx(ctx, func(tx *sql.Tx) error {
		head, err := headOf(ctx, tx)
		if err != nil {
			return err
		}
		if head.Seq >= math.MaxInt64 {
			return ErrLogFull
		}
		rec = Record{Seq: head.Seq + 1, Event: ev, PrevHash: head.Hash}
		rec.Hash = rec.ComputeHash()
		_, err = tx.ExecContext(ctx, l.db.Rebind(`INSERT INTO audit_log (`+recordColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			int64(rec.Seq), rec.Time.UnixNano(), rec.Source, rec.Action, rec.Subject, rec.Outcome,
			string(rec.Details), rec.PrevHash[:], rec.Hash[:])
		return err
	})
	if err != nil {
		return Record{}, fmt.Errorf("audit: append: %w", err)
	}
	return rec, nil
}

// Head returns the newest record, or the zero Record (Seq 0) when the log is
// empty.
func (l *Log) Head(ctx context.Context) (Record, error) {
	rec, err := headOf(ctx, l.db.SQL())
	if err != nil {
		return Record{}, fmt.Errorf("audit: head: %w", err)
	}
	return rec, nil
}

// List returns up to limit records with Seq greater than afterSeq, oldest
// first. A limit of zero or less means DefaultListLimit; more than
// MaxListLimit means MaxListLimit. Pass the Seq of the last record returned
// to get the next page.
func (l *Log) List(ctx context.Context, afterSeq uint64, limit int) ([]Record, error) {
	if limit <= 0 {
		limit = DefaultListLimit
	}
	limit = min(limit, MaxListLimit)
	if afterSeq >= math.MaxInt64 {
		return nil, nil
	}
	rows, err := l.db.SQL().QueryContext(ctx, l.db.Rebind(`SELECT `+recordColumns+`
		FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?`), int64(afterSeq), limit)
	if err != nil {
		return nil, fmt.Errorf("audit: list: %w", err)
	}
	defer rows.Close()
	var recs []Record
	for rows.Next() {
		rec, err := scanRecord(rows)
		if err != nil {
			return nil, fmt.Errorf("audit: list: %w", err)
		}
		recs = append(recs, rec)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("audit: list: %w", err)
	}
	return recs, nil
}

// Verify walks the whole log from the first record and checks that sequence
// numbers have no gap, that each PrevHash is the Hash of the record before,
// and that each Hash matches its record's contents. It returns the number of
// records verified: all of them when the error is nil, otherwise those before
// the first broken link, which the error (a *ChainError matching
// ErrChainBroken) locates. The prefix VerifyPrefix trusts is reset to what
// this walk verified.
func (l *Log) Verify(ctx context.Context) (uint64, error) {
	l.prefixMu.Lock()
	defer l.prefixMu.Unlock()
	p, err := l.verifyFrom(ctx, verifiedPrefix{})
	l.prefix = p
	return p.seq, err
}

// VerifyPrefix verifies what was appended since the last call: records
// already verified (by this Log, in this process) are not read again, so a
// call costs what is new, not the whole log. It reports like Verify. A
// record changed inside the verified prefix after it was checked is found
// by Verify, which re-reads everything.
func (l *Log) VerifyPrefix(ctx context.Context) (uint64, error) {
	l.prefixMu.Lock()
	defer l.prefixMu.Unlock()
	p, err := l.verifyFrom(ctx, l.prefix)
	l.prefix = p
	return p.seq, err
}

// verifyFrom checks the records after the verified prefix from and returns
// the longer prefix it verified.
func (l *Log) verifyFrom(ctx context.Context, from verifiedPrefix) (verifiedPrefix, error) {
	if from.seq >= math.MaxInt64 {
		return from, nil
	}
	rows, err := l.db.SQL().QueryContext(ctx, l.db.Rebind(`SELECT `+recordColumns+` FROM audit_log WHERE seq > ? ORDER BY seq`), int64(from.seq))
	if err != nil {
		return from, fmt.Errorf("audit: verify: %w", err)
	}
	defer rows.Close()
	var (
		verified = from.seq
		prev     = from.hash
		done     = func(err error) (verifiedPrefix, error) {
			return verifiedPrefix{seq: verified, hash: prev}, err
		}
	)
	for rows.Next() {
		rec, err := scanRecord(rows)
		if err != nil {
			var ce *ChainError
			if errors.As(err, &ce) {
				if ce.Seq <= verified {
					// A sequence number below 1 sorts first.
					ce.Seq = verified + 1
				}
				return done(ce)
			}
			return done(fmt.Errorf("audit: verify: %w", err))
		}
		want := verified + 1
		switch {
		case rec.Seq != want:
			return done(&ChainError{Seq: want, Reason: "record missing"})
		case rec.PrevHash != prev:
			return done(&ChainError{Seq: rec.Seq, Reason: "previous hash does not match"})
		case rec.ComputeHash() != rec.Hash:
			return done(&ChainError{Seq: rec.Seq, Reason: "hash does not match contents"})
		}
		prev = rec.Hash
		verified = rec.Seq
	}
	if err := rows.Err(); err != nil {
		return done(fmt.Errorf("audit: verify: %w", err))
	}
	return done(nil)
}

// Filter selects records for Query. Zero fields select everything.
type Filter struct {
	// After skips records with Seq up to and including it.
	After uint64
	// Limit bounds the page as List does (DefaultListLimit, MaxListLimit).
	Limit int
	// Source keeps records of one source: a plugin name or SourceDaemon.
	Source string
	// Action keeps records of one action (event name), such as
	// "plugin.swap"; a trailing ".*" keeps a family ("plugin.*").
	Action string
	// Since keeps records at or after it; Until those strictly before it.
	Since, Until time.Time
}

// Query returns up to f.Limit records matching f, oldest first, and next:
// the sequence number to pass as After for the next page. next advances
// past records that did not match too, so a follower polling with it reads
// each record once however selective the filter.
func (l *Log) Query(ctx context.Context, f Filter) (recs []Record, next uint64, err error) {
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultListLimit
	}
	limit = min(limit, MaxListLimit)
	if f.After >= math.MaxInt64 {
		return nil, f.After, nil
	}
	// The head first: every record up to it is committed (appends are
	// serialised), so a page that ends short may skip to it.
	head, err := l.Head(ctx)
	if err != nil {
		return nil, f.After, err
	}
	q := `SELECT ` + recordColumns + ` FROM audit_log WHERE seq > ? AND seq <= ?`
	args := []any{int64(f.After), int64(head.Seq)}
	if f.Source != "" {
		q += ` AND source = ?`
		args = append(args, f.Source)
	}
	if family, ok := strings.CutSuffix(f.Action, ".*"); ok {
		q += ` AND substr(action, 1, ?) = ?`
		args = append(args, len(family)+1, family+".")
	} else if f.Action != "" {
		q += ` AND action = ?`
		args = append(args, f.Action)
	}
	if !f.Since.IsZero() {
		q += ` AND time_ns >= ?`
		args = append(args, clampNanos(f.Since))
	}
	if !f.Until.IsZero() {
		q += ` AND time_ns < ?`
		args = append(args, clampNanos(f.Until))
	}
	q += ` ORDER BY seq LIMIT ?`
	args = append(args, limit)
	rows, err := l.db.SQL().QueryContext(ctx, l.db.Rebind(q), args...)
	if err != nil {
		return nil, f.After, fmt.Errorf("audit: query: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		rec, err := scanRecord(rows)
		if err != nil {
			return nil, f.After, fmt.Errorf("audit: query: %w", err)
		}
		recs = append(recs, rec)
	}
	if err := rows.Err(); err != nil {
		return nil, f.After, fmt.Errorf("audit: query: %w", err)
	}
	next = max(f.After, head.Seq)
	if len(recs) == limit {
		next = recs[len(recs)-1].Seq
	}
	return recs, next, nil
}

// clampNanos returns t as Unix nanoseconds, clamped to the int64 range.
func clampNanos(t time.Time) int64 {
	switch {
	case t.Before(minTime):
		return math.MinInt64
	case t.After(maxTime):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// querier is what headOf needs from a *sql.DB or a *sql.Tx.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// headOf reads the newest record, or the zero Record when there is none.
func headOf(ctx context.Context, q querier) (Record, error) {
	row := q.QueryRowContext(ctx, `SELECT `+recordColumns+` FROM audit_log ORDER BY seq DESC LIMIT 1`)
	rec, err := scanRecord(row)
	if errors.Is(err, sql.ErrNoRows) {
		return Record{}, nil
	}
	return rec, err
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

// scanRecord reads one row of recordColumns. A row that cannot be a record
// (a hash of the wrong length, a sequence number below 1) is reported as a
// *ChainError.
func scanRecord(s scanner) (Record, error) {
	var (
		seq, ns       int64
		details       string
		prevHash, sum []byte
		rec           Record
	)
	if err := s.Scan(&seq, &ns, &rec.Source, &rec.Action, &rec.Subject, &rec.Outcome, &details, &prevHash, &sum); err != nil {
		return Record{}, err
	}
	if seq < 1 {
		return Record{}, &ChainError{Seq: 0, Reason: fmt.Sprintf("sequence number %d", seq)}
	}
	rec.Seq = uint64(seq)
	if len(prevHash) != len(rec.PrevHash) || len(sum) != len(rec.Hash) {
		return Record{}, &ChainError{Seq: rec.Seq, Reason: "stored hash has the wrong length"}
	}
	copy(rec.PrevHash[:], prevHash)
	copy(rec.Hash[:], sum)
	rec.Time = time.Unix(0, ns).UTC()
	if details != "" {
		rec.Details = json.RawMessage(details)
	}
	return rec, nil
}
