package audit

import (
	"encoding/json"
	"testing"

	"github.com/aunsorm/aunsorm/sdk/store"
)

// BenchmarkAppend measures one durable append (an fsync per record).
func BenchmarkAppend(b *testing.B) {
	l, _ := openLog(b)
	e := Event{Source: "kms", Action: "key.sign", Subject: "key/1234", Outcome: "ok",
		Details: json.RawMessage(`{"alg":"ES256","version":3}`)}
	for b.Loop() {
		if _, err := l.Append(b.Context(), e); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify measures verifying a log of 1000 records.
func BenchmarkVerify(b *testing.B) {
	l, _ := openLog(b)
	e := Event{Source: "kms", Action: "key.sign", Subject: "key/1234", Outcome: "ok"}
	for range 1000 {
		if _, err := l.Append(b.Context(), e); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		if n, err := l.Verify(b.Context()); err != nil || n != 1000 {
			b.Fatalf("Verify = %d, %v", n, err)
		}
	}
}

// BenchmarkAppendEngines measures durable appends on each storage engine,
// side by side: SQLite (fsync per record) and PostgreSQL (a private
// cluster on this machine, commit per record, the cross-daemon lock
// included). scripts/bench-storage.sh prints the two rates together.
func BenchmarkAppendEngines(b *testing.B) {
	e := Event{Source: "kms", Action: "key.sign", Subject: "key/1234", Outcome: "ok",
		Details: json.RawMessage(`{"alg":"ES256","version":3}`)}
	engines := []struct {
		name string
		open func(b *testing.B) *Log
	}{
		{"sqlite", func(b *testing.B) *Log { l, _ := openLog(b); return l }},
		{"postgres", func(b *testing.B) *Log {
			c := pg.Get(b)
			l, err := OpenStore(b.Context(), store.Options{Driver: store.DriverPostgres, DSN: c.NewDatabase(b), Schema: "aunsorm_audit"})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = l.Close() })
			return l
		}},
	}
	for _, eng := range engines {
		b.Run(eng.name, func(b *testing.B) {
			l := eng.open(b)
			for b.Loop() {
				if _, err := l.Append(b.Context(), e); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
		})
	}
}
