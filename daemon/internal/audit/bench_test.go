package audit

import (
	"encoding/json"
	"testing"
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
