package pluginhost

import (
	"bytes"
	"encoding/json"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/rs/zerolog"
)

// Limits applied to what a plugin writes on stderr/stdout.
const (
	maxLogLine      = 16 << 10 // bytes kept of one line; the rest is dropped
	logLinesPerSec  = 200      // sustained lines per second per stream
	logBurst        = 1000     // lines allowed in a burst
	dropReportEvery = 5 * time.Second
)

// logWriter turns a plugin's raw output into daemon log events. It never
// panics on what it reads: any bytes become either a structured event (when
// the line is a JSON object with string "level"/"message" fields, zerolog or
// hclog style) or a quoted raw line. Lines are truncated at 16 KiB, output is
// rate-limited and the number of dropped lines is reported.
type logWriter struct {
	log    zerolog.Logger
	stream string

	mu        sync.Mutex
	buf       []byte
	skipping  bool // inside an over-long line: drop until newline
	tokens    float64
	last      time.Time
	dropped   uint64
	lastDrop  time.Time
	truncated bool
}

// newLogWriter returns a logWriter logging to log with field stream.
func newLogWriter(log zerolog.Logger, stream string) *logWriter {
	return &logWriter{log: log, stream: stream, tokens: logBurst, last: time.Now()}
}

// Write implements io.Writer; it always consumes all of p.
func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			w.appendPart(p)
			break
		}
		w.appendPart(p[:i])
		if !w.skipping || w.truncated {
			w.emit(w.buf, w.truncated)
		}
		w.buf, w.skipping, w.truncated = w.buf[:0], false, false
		p = p[i+1:]
	}
	return n, nil
}

func (w *logWriter) appendPart(p []byte) {
	if w.skipping {
		return
	}
	room := maxLogLine - len(w.buf)
	if len(p) > room {
		w.buf = append(w.buf, p[:room]...)
		w.skipping, w.truncated = true, true
		return
	}
	w.buf = append(w.buf, p...)
}

// allow is a token bucket over lines.
func (w *logWriter) allow(now time.Time) bool {
	w.tokens += now.Sub(w.last).Seconds() * logLinesPerSec
	if w.tokens > logBurst {
		w.tokens = logBurst
	}
	w.last = now
	if w.tokens < 1 {
		return false
	}
	w.tokens--
	return true
}

func (w *logWriter) emit(line []byte, truncated bool) {
	line = bytes.TrimRight(line, "\r")
	if len(bytes.TrimSpace(line)) == 0 {
		return
	}
	now := time.Now()
	if !w.allow(now) {
		w.dropped++
		return
	}
	if w.dropped > 0 && now.Sub(w.lastDrop) >= dropReportEvery {
		w.log.Warn().Str("stream", w.stream).Uint64("dropped_lines", w.dropped).Msg("plugin output rate-limited")
		w.dropped, w.lastDrop = 0, now
	}
	level, msg, fields, ok := parseLogLine(line)
	if !ok {
		ev := w.log.WithLevel(zerolog.InfoLevel).Str("stream", w.stream)
		if truncated {
			ev = ev.Bool("truncated", true)
		}
		ev.Str("raw", sanitize(line)).Msg("plugin output")
		return
	}
	ev := w.log.WithLevel(level).Str("stream", w.stream)
	for k, v := range fields {
		ev = ev.Interface("p_"+k, v)
	}
	ev.Msg(msg)
}

// parseLogLine accepts a JSON object with optional string level/message
// fields (zerolog "level"/"message", hclog "@level"/"@message"); anything of
// another shape or type is not a structured line.
func parseLogLine(line []byte) (zerolog.Level, string, map[string]any, bool) {
	if len(line) == 0 || line[0] != '{' || !utf8.Valid(line) {
		return 0, "", nil, false
	}
	var m map[string]any
	if err := json.Unmarshal(line, &m); err != nil {
		return 0, "", nil, false
	}
	level := zerolog.InfoLevel
	msg := ""
	for _, k := range []string{"level", "@level"} {
		if s, ok := m[k].(string); ok {
			if l, err := zerolog.ParseLevel(s); err == nil && l != zerolog.NoLevel {
				level = l
			}
		}
		delete(m, k)
	}
	for _, k := range []string{"message", "@message"} {
		if s, ok := m[k].(string); ok && msg == "" {
			msg = s
		}
		delete(m, k)
	}
	for _, k := range []string{"time", "@timestamp", "plugin", "@module"} {
		delete(m, k)
	}
	if len(m) > 32 {
		m = map[string]any{"fields_omitted": len(m)}
	}
	if level < zerolog.DebugLevel {
		level = zerolog.DebugLevel
	}
	if level > zerolog.ErrorLevel {
		level = zerolog.ErrorLevel // a plugin cannot make the daemon fatal/panic
	}
	return level, msg, m, true
}

// sanitize makes arbitrary bytes a valid, printable string.
func sanitize(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	return string(bytes.ToValidUTF8(b, []byte("\uFFFD")))
}
