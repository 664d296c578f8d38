package main

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

func TestRandomBytes(t *testing.T) {
	tests := []struct {
		name  string
		query string
		n     int
	}{
		{"ok/one", "bytes=1", 1},
		{"ok/32", "bytes=32", 32},
		{"ok/max", "bytes=65536", 65536},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newSeededReader(9)
			rec := serve(newServer(r).Handler(), http.MethodGet, "/crypto/random?"+tc.query, nil)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body.String())
			}
			var got randomBytesResponse
			if err := jsonUnmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			want := make([]byte, tc.n)
			newSeededReader(9).Read(want)
			if got.Bytes != tc.n || !bytes.Equal(mustDecode(t, got.Data), want) || r.n != tc.n {
				t.Fatalf("got %d bytes, not the reader's first %d (read %d)", got.Bytes, tc.n, r.n)
			}
		})
	}
}

func TestRandomQueryParsing(t *testing.T) {
	h := newTestHandler()
	tests := []struct {
		name string
		path string
		desc string
	}{
		{"fail/bytes-missing", "/crypto/random", `"bytes" is required`},
		{"fail/bytes-empty", "/crypto/random?bytes=", "decimal integer"},
		{"fail/bytes-zero", "/crypto/random?bytes=0", "between 1 and 65536, got 0"},
		{"fail/bytes-too-many", "/crypto/random?bytes=65537", "between 1 and 65536, got 65537"},
		{"fail/bytes-negative", "/crypto/random?bytes=-1", "between 1 and 65536"},
		{"fail/bytes-plus", "/crypto/random?bytes=%2B5", "decimal integer"},
		{"fail/bytes-leading-zero", "/crypto/random?bytes=05", "decimal integer"},
		{"fail/bytes-fraction", "/crypto/random?bytes=1.0", "decimal integer"},
		{"fail/bytes-exponent", "/crypto/random?bytes=1e3", "decimal integer"},
		{"fail/bytes-hex", "/crypto/random?bytes=0x10", "decimal integer"},
		{"fail/bytes-space", "/crypto/random?bytes=%205", "decimal integer"},
		{"fail/bytes-overflow", "/crypto/random?bytes=99999999999999999999", "int64 range"},
		{"fail/bytes-twice", "/crypto/random?bytes=5&bytes=5", "more than once"},
		{"fail/unknown-parameter", "/crypto/random?bytes=5&format=hex", `unknown query parameter "format"`},
		{"fail/malformed-query", "/crypto/random?bytes=%zz", "malformed query"},
		{"fail/semicolon", "/crypto/random?bytes=5;x=1", "malformed query"},
		{"fail/min-missing", "/random/number?max=5", `"min" is required`},
		{"fail/max-missing", "/random/number?min=5", `"max" is required`},
		{"fail/min-above-max", "/random/number?min=2&max=1", `"min" (2) must not exceed "max" (1)`},
		{"fail/minus-zero", "/random/number?min=-0&max=1", "decimal integer"},
		{"fail/lone-minus", "/random/number?min=-&max=1", "decimal integer"},
		{"fail/min-overflow", "/random/number?min=-9223372036854775809&max=1", "int64 range"},
		{"fail/max-overflow", "/random/number?min=0&max=9223372036854775808", "int64 range"},
		{"fail/number-unknown", "/random/number?min=0&max=1&seed=4", "unknown query parameter"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			desc := wantError(t, serve(h, http.MethodGet, tc.path, nil), http.StatusBadRequest, "invalid_request")
			if !strings.Contains(desc, tc.desc) {
				t.Fatalf("description %q lacks %q", desc, tc.desc)
			}
		})
	}
}

func TestIsStrictInt(t *testing.T) {
	for s, want := range map[string]bool{
		"0": true, "7": true, "-7": true, "10": true, "-9223372036854775808": true,
		"": false, "-": false, "-0": false, "00": false, "-01": false, "+1": false,
		"1a": false, " 1": false, "1 ": false, "١": false,
	} {
		if got := isStrictInt(s); got != want {
			t.Errorf("isStrictInt(%q) = %v, want %v", s, got, want)
		}
	}
}

// word is one 64-bit candidate as the reader hands it out.
func word(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

// TestUniformRejection checks the sampler's rejection rule and bounds with
// scripted candidates.
func TestUniformRejection(t *testing.T) {
	tests := []struct {
		name     string
		lo, hi   int64
		script   []uint64
		want     int64
		consumed int
	}{
		// 2^64 mod 3 = 1: the candidate 0 is rejected, 1 maps to lo+1.
		{"ok/reject-below-remainder", 10, 12, []uint64{0, 1}, 11, 2},
		{"ok/accept-top", 10, 12, []uint64{math.MaxUint64}, 10 + int64(math.MaxUint64%3), 1},
		// n = 2^63+1: 2^64 mod n = 2^63-1, so everything below is rejected.
		{"ok/half-range-rejects", math.MinInt64, 0, []uint64{5, 1<<63 - 2, 1<<63 - 1}, -1, 3},
		{"ok/full-range-min", math.MinInt64, math.MaxInt64, []uint64{0}, math.MinInt64, 1},
		{"ok/full-range-max", math.MinInt64, math.MaxInt64, []uint64{math.MaxUint64}, math.MaxInt64, 1},
		{"ok/min-equals-max", 42, 42, nil, 42, 0},
		{"ok/negative-range", -3, -1, []uint64{4}, -2, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			chunks := make([][]byte, len(tc.script))
			for i, v := range tc.script {
				chunks[i] = word(v)
			}
			r := &scriptedReader{chunks: chunks}
			got, err := newServer(r).uniformInt64(tc.lo, tc.hi)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want || len(tc.script)-len(r.chunks) != tc.consumed {
				t.Fatalf("got %d after %d draws, want %d after %d", got, len(tc.script)-len(r.chunks), tc.want, tc.consumed)
			}
		})
	}
	t.Run("fail/always-rejected", func(t *testing.T) {
		chunks := make([][]byte, maxRejections)
		for i := range chunks {
			chunks[i] = word(0)
		}
		if _, err := newServer(&scriptedReader{chunks: chunks}).uniformInt64(0, 2); !errors.Is(err, errRandomRejected) {
			t.Fatalf("error %v, want errRandomRejected", err)
		}
	})
}

// TestRandomNumberUniformity draws from small ranges through the handler
// with a seeded stream, so the counts are reproducible: every value must
// appear, none outside the bounds, and the spread must be close to even.
func TestRandomNumberUniformity(t *testing.T) {
	h := newServer(newSeededReader(11)).Handler()
	const draws = 3000
	counts := map[int64]int{}
	for range draws {
		rec := serve(h, http.MethodGet, "/random/number?min=0&max=2", nil)
		var got randomNumberResponse
		if err := jsonUnmarshal(rec.Body.Bytes(), &got); err != nil || rec.Code != http.StatusOK {
			t.Fatalf("status %d: %s", rec.Code, rec.Body.String())
		}
		if got.Min != 0 || got.Max != 2 || got.Value < 0 || got.Value > 2 {
			t.Fatalf("out of range: %+v", got)
		}
		counts[got.Value]++
	}
	for v := range int64(3) {
		// Expected 1000 each, standard deviation about 26.
		if c := counts[v]; c < 850 || c > 1150 {
			t.Fatalf("value %d drawn %d times in %d: %v", v, c, draws, counts)
		}
	}
}

func TestRandomNumberBounds(t *testing.T) {
	h := newTestHandler()
	tests := []struct {
		name   string
		lo, hi int64
	}{
		{"ok/equal", 7, 7},
		{"ok/equal-min", math.MinInt64, math.MinInt64},
		{"ok/equal-max", math.MaxInt64, math.MaxInt64},
		{"ok/full-range", math.MinInt64, math.MaxInt64},
		{"ok/top-two", math.MaxInt64 - 1, math.MaxInt64},
		{"ok/bottom-two", math.MinInt64, math.MinInt64 + 1},
		{"ok/dice", 1, 6},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for range 50 {
				rec := serve(h, http.MethodGet, "/random/number?min="+strconv.FormatInt(tc.lo, 10)+"&max="+strconv.FormatInt(tc.hi, 10), nil)
				var got randomNumberResponse
				if err := jsonUnmarshal(rec.Body.Bytes(), &got); err != nil || rec.Code != http.StatusOK {
					t.Fatalf("status %d: %s", rec.Code, rec.Body.String())
				}
				if got.Min != tc.lo || got.Max != tc.hi || got.Value < tc.lo || got.Value > tc.hi {
					t.Fatalf("out of range: %+v", got)
				}
			}
		})
	}
}

func FuzzRandomQuery(f *testing.F) {
	for _, q := range []string{"bytes=1", "bytes=65536", "bytes=65537", "bytes=-1", "bytes=01", "bytes=1&bytes=2", "x=1", "bytes=%zz", ";", ""} {
		f.Add(q)
	}
	h := newServer(rand.Reader).Handler()
	f.Fuzz(func(t *testing.T, q string) {
		rec := serve(h, http.MethodGet, "/crypto/random?"+q, nil)
		checkFuzzResponse(t, rec)
		if rec.Code != http.StatusOK {
			return
		}
		// As many bytes as asked for, and said so.
		var out randomBytesResponse
		if err := jsonUnmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatal(err)
		}
		v, err := url.ParseQuery(q)
		if err != nil {
			t.Fatalf("accepted query %q that does not parse: %v", q, err)
		}
		if want, err := strconv.Atoi(v.Get("bytes")); err != nil || out.Bytes != want || len(mustDecode(t, out.Data)) != want {
			t.Fatalf("query %q: %d bytes said, %d returned", q, out.Bytes, len(mustDecode(t, out.Data)))
		}
	})
}

func FuzzNumberQuery(f *testing.F) {
	for _, q := range []string{"min=0&max=1", "min=-9223372036854775808&max=9223372036854775807", "min=1&max=0", "min=-0&max=0", "min=0", "max=0&min=0&min=1", "min=%2B1&max=2", ""} {
		f.Add(q)
	}
	h := newServer(rand.Reader).Handler()
	f.Fuzz(func(t *testing.T, q string) {
		rec := serve(h, http.MethodGet, "/random/number?"+q, nil)
		checkFuzzResponse(t, rec)
		if rec.Code == http.StatusOK {
			var got randomNumberResponse
			if err := jsonUnmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if got.Value < got.Min || got.Value > got.Max {
				t.Fatalf("out of range: %+v", got)
			}
		}
	})
}
