// Package logbuf batches the daemon's JSON log lines. The gateway's access
// log writes one line per request; written one by one that is a system
// call per request, and a wake-up of whatever reads the daemon's standard
// error (journald, a pipe). Lines below warn wait at most the flush
// interval, or until 64 KiB have gathered; a warning or an error is
// written at once, behind everything before it, so order is kept and
// nothing that matters waits. A kill -9 can lose the batch in progress
// (at most one interval of info lines); the audit log, not this one, is
// the durable record.
package logbuf

import (
	"io"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// Limit is the batch size that is written without waiting for the timer.
const Limit = 64 << 10

// Writer is a zerolog.LevelWriter over w. It is safe for concurrent use.
type Writer struct {
	w        io.Writer
	interval time.Duration

	mu     sync.Mutex
	buf    []byte
	timer  *time.Timer // armed while buf holds lines
	closed bool
}

// New returns a Writer batching onto w for at most interval.
func New(w io.Writer, interval time.Duration) *Writer {
	return &Writer{w: w, interval: interval}
}

// Write buffers p (one log line) like an info line.
func (b *Writer) Write(p []byte) (int, error) {
	return b.WriteLevel(zerolog.InfoLevel, p)
}

// WriteLevel implements zerolog.LevelWriter: warn and above are written at
// once together with any lines buffered before them.
func (b *Writer) WriteLevel(l zerolog.Level, p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	urgent := b.closed || b.interval <= 0 || (l >= zerolog.WarnLevel && l != zerolog.NoLevel)
	if len(b.buf)+len(p) > Limit || urgent {
		if err := b.flushLocked(); err != nil {
			return 0, err
		}
		if len(p) >= Limit || urgent {
			return b.w.Write(p)
		}
	}
	b.buf = append(b.buf, p...)
	if b.timer == nil {
		b.timer = time.AfterFunc(b.interval, func() { _ = b.Flush() })
	}
	return len(p), nil
}

// Flush writes the buffered lines now.
func (b *Writer) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.flushLocked()
}

func (b *Writer) flushLocked() error {
	if b.timer != nil {
		b.timer.Stop()
		b.timer = nil
	}
	if len(b.buf) == 0 {
		return nil
	}
	_, err := b.w.Write(b.buf)
	if cap(b.buf) > 2*Limit {
		b.buf = nil
	} else {
		b.buf = b.buf[:0]
	}
	return err
}

// Close flushes and makes every later line go out at once.
func (b *Writer) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	return b.flushLocked()
}
