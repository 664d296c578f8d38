package seal

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzParse: arbitrary text never panics, fails only with ErrMalformed
// without quoting itself, and what parses survives the written form.
func FuzzParse(f *testing.F) {
	f.Add([]byte("1:" + seqKey))
	f.Add([]byte("# c\n2:" + seqKey + "\n1:" + seqKey + "\r\n"))
	f.Add([]byte("1:"))
	f.Add([]byte(":" + seqKey))
	f.Add([]byte("99999999999:" + seqKey))
	f.Fuzz(func(t *testing.T, text []byte) {
		r, err := Parse(text)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("unexpected error %v", err)
			}
			if len(text) >= 8 && bytes.Contains([]byte(err.Error()), text) {
				t.Fatalf("the error quotes its input: %v", err)
			}
			return
		}
		again, err := Parse(r.marshalSecret())
		if err != nil || !bytes.Equal(again.marshalSecret(), r.marshalSecret()) {
			t.Fatalf("written form does not parse back: %v", err)
		}
	})
}
