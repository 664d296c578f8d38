package rng

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var kdfHashes = map[string]func() hash.Hash{
	"SHA-256": sha256.New,
	"SHA-512": sha512.New,
}

func loadRSP(t *testing.T, name string) []*rspCase {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cases, err := parseRSP(f)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return cases
}

func caseName(c *rspCase) string {
	return fmt.Sprintf("ok/%s/pers%s/add%s/count%s", c.hash(),
		c.section["PersonalizationStringLen"], c.section["AdditionalInputLen"], c.count)
}

// runCAVP executes one CAVP case following the DRBGVS procedure for its file
// and returns the second generate output.
func runCAVP(t *testing.T, mode string, c *rspCase) (got, want []byte) {
	t.Helper()
	h := kdfHashes[c.hash()]
	if h == nil {
		t.Fatalf("line %d: unsupported hash %q", c.line, c.hash())
	}
	must := func(name string, i int) []byte {
		b, err := c.get(name, i)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	want = must("ReturnedBits", 0)
	d, err := newHMACDRBG(h, must("EntropyInput", 0), must("Nonce", 0), must("PersonalizationString", 0))
	if err != nil {
		t.Fatalf("instantiate: %v", err)
	}
	defer d.Wipe()
	got = make([]byte, len(want))
	switch mode {
	case "no_reseed":
		for i := range 2 {
			if err := d.Generate(got, must("AdditionalInput", i)); err != nil {
				t.Fatalf("generate %d: %v", i+1, err)
			}
		}
	case "pr_false":
		if err := d.Reseed(must("EntropyInputReseed", 0), must("AdditionalInputReseed", 0)); err != nil {
			t.Fatalf("reseed: %v", err)
		}
		for i := range 2 {
			if err := d.Generate(got, must("AdditionalInput", i)); err != nil {
				t.Fatalf("generate %d: %v", i+1, err)
			}
		}
	case "pr_true":
		// SP 800-90A §9.3.1: a prediction-resistance request reseeds with
		// fresh entropy and the additional input, then generates with none.
		for i := range 2 {
			if err := d.Reseed(must("EntropyInputPR", i), must("AdditionalInput", i)); err != nil {
				t.Fatalf("reseed %d: %v", i+1, err)
			}
			if err := d.Generate(got, nil); err != nil {
				t.Fatalf("generate %d: %v", i+1, err)
			}
		}
	default:
		t.Fatalf("unknown mode %q", mode)
	}
	return got, want
}

func TestHMACDRBGCAVP(t *testing.T) {
	files := []struct {
		mode, file, pr string
	}{
		{"no_reseed", "HMAC_DRBG_no_reseed.rsp", "False"},
		{"pr_false", "HMAC_DRBG_pr_false.rsp", "False"},
		{"pr_true", "HMAC_DRBG_pr_true.rsp", "True"},
	}
	for _, f := range files {
		t.Run(f.mode, func(t *testing.T) {
			cases := loadRSP(t, f.file)
			seen := map[string]int{}
			for _, c := range cases {
				if got := c.section["PredictionResistance"]; got != f.pr {
					t.Fatalf("line %d: PredictionResistance = %s in %s", c.line, got, f.file)
				}
				seen[c.hash()]++
				t.Run(caseName(c), func(t *testing.T) {
					got, want := runCAVP(t, f.mode, c)
					if !bytes.Equal(got, want) {
						t.Fatalf("line %d: ReturnedBits mismatch\n got %x\nwant %x", c.line, got, want)
					}
				})
			}
			// Coverage the test data must keep: both hashes, with and
			// without personalization and additional input.
			for _, h := range []string{"SHA-256", "SHA-512"} {
				if seen[h] < 2 {
					t.Errorf("%s: only %d %s cases", f.file, seen[h], h)
				}
			}
		})
	}
}

func TestCAVPCoverage(t *testing.T) {
	for _, file := range []string{"HMAC_DRBG_no_reseed.rsp", "HMAC_DRBG_pr_false.rsp", "HMAC_DRBG_pr_true.rsp"} {
		var pers, add, plain bool
		for _, c := range loadRSP(t, file) {
			p, a := c.section["PersonalizationStringLen"] != "0", c.section["AdditionalInputLen"] != "0"
			pers = pers || p
			add = add || a
			plain = plain || (!p && !a)
		}
		if !pers || !add || !plain {
			t.Errorf("%s: personalization=%v additional=%v plain=%v, want all", file, pers, add, plain)
		}
	}
}

func TestSelfTest(t *testing.T) {
	if err := SelfTest(); err != nil {
		t.Fatal(err)
	}
}

// TestSelfTestVectorMatchesTestdata ties the vector embedded in production
// code to the CAVP case it cites.
func TestSelfTestVectorMatchesTestdata(t *testing.T) {
	for _, c := range loadRSP(t, "HMAC_DRBG_pr_false.rsp") {
		if c.hash() != "SHA-512" || c.count != "0" ||
			c.section["PersonalizationStringLen"] != "0" || c.section["AdditionalInputLen"] != "0" {
			continue
		}
		for name, want := range map[string]string{
			"EntropyInput":       selfTestEntropy,
			"Nonce":              selfTestNonce,
			"EntropyInputReseed": selfTestEntropyReseed,
			"ReturnedBits":       selfTestReturnedBits,
		} {
			got, err := c.get(name, 0)
			if err != nil {
				t.Fatal(err)
			}
			if hex.EncodeToString(got) != want {
				t.Errorf("%s differs from the testdata case", name)
			}
		}
		return
	}
	t.Fatal("cited CAVP case not found in testdata")
}

func fill(b byte, n int) []byte { return bytes.Repeat([]byte{b}, n) }

func TestNewHMACDRBGErrors(t *testing.T) {
	tests := []struct {
		name           string
		entropy, nonce []byte
		want           error
	}{
		{"ok/minimum", fill(1, MinEntropyBytes), fill(2, MinNonceBytes), nil},
		{"fail/short_entropy", fill(1, MinEntropyBytes-1), fill(2, MinNonceBytes), ErrEntropyTooShort},
		{"fail/no_entropy", nil, fill(2, MinNonceBytes), ErrEntropyTooShort},
		{"fail/short_nonce", fill(1, MinEntropyBytes), fill(2, MinNonceBytes-1), ErrNonceTooShort},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := NewHMACDRBG(tt.entropy, tt.nonce, nil)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if err == nil && d == nil {
				t.Fatal("nil DRBG without error")
			}
		})
	}
}

func TestCheckLen(t *testing.T) {
	if err := checkLen("x", 1<<20); err != nil {
		t.Fatalf("ok/1MiB: %v", err)
	}
	// int is 64-bit on the platforms we build for; the limit is 2^32 bytes.
	if n := uint64(maxInputBytes) + 1; uint64(int(n)) == n {
		if err := checkLen("x", int(n)); !errors.Is(err, ErrInputTooLong) {
			t.Fatalf("fail/too_long: err = %v", err)
		}
	}
}

func newTestDRBG(t *testing.T) *HMACDRBG {
	t.Helper()
	d, err := NewHMACDRBG(fill(7, 48), fill(9, 16), []byte("test"))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestGenerateErrors(t *testing.T) {
	t.Run("fail/request_too_large", func(t *testing.T) {
		d := newTestDRBG(t)
		if err := d.Generate(make([]byte, MaxBytesPerRequest+1), nil); !errors.Is(err, ErrRequestTooLarge) {
			t.Fatalf("err = %v", err)
		}
		if err := d.Generate(make([]byte, MaxBytesPerRequest), nil); err != nil {
			t.Fatalf("max request: %v", err)
		}
	})
	t.Run("fail/reseed_required", func(t *testing.T) {
		d := newTestDRBG(t)
		if err := d.SetReseedInterval(3); err != nil {
			t.Fatal(err)
		}
		out := make([]byte, 16)
		for i := range 3 {
			if err := d.Generate(out, nil); err != nil {
				t.Fatalf("request %d: %v", i+1, err)
			}
		}
		if !d.ReseedRequired() {
			t.Fatal("ReseedRequired = false after the interval")
		}
		clear(out)
		if err := d.Generate(out, nil); !errors.Is(err, ErrReseedRequired) {
			t.Fatalf("err = %v, want ErrReseedRequired", err)
		}
		if !bytes.Equal(out, make([]byte, 16)) {
			t.Fatal("refused request wrote output")
		}
		if err := d.Reseed(fill(3, 32), nil); err != nil {
			t.Fatal(err)
		}
		if err := d.Generate(out, nil); err != nil {
			t.Fatalf("after reseed: %v", err)
		}
	})
	t.Run("fail/reseed_short_entropy", func(t *testing.T) {
		d := newTestDRBG(t)
		if err := d.Reseed(fill(3, 31), nil); !errors.Is(err, ErrEntropyTooShort) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("fail/invalid_interval", func(t *testing.T) {
		d := newTestDRBG(t)
		for _, n := range []uint64{0, MaxReseedInterval + 1} {
			if err := d.SetReseedInterval(n); !errors.Is(err, ErrInvalidReseedInterval) {
				t.Fatalf("SetReseedInterval(%d) = %v", n, err)
			}
		}
		if err := d.SetReseedInterval(MaxReseedInterval); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("fail/wiped", func(t *testing.T) {
		d := newTestDRBG(t)
		d.Wipe()
		if !isZero(d.k) || !isZero(d.v) {
			t.Fatal("Wipe left state")
		}
		if err := d.Generate(make([]byte, 1), nil); !errors.Is(err, ErrUninstantiated) {
			t.Fatalf("Generate after Wipe: %v", err)
		}
		if err := d.Reseed(fill(1, 32), nil); !errors.Is(err, ErrUninstantiated) {
			t.Fatalf("Reseed after Wipe: %v", err)
		}
	})
}

func TestErrorsCarryNoSecrets(t *testing.T) {
	entropy := fill(0xab, 31)
	_, err := NewHMACDRBG(entropy, fill(0xcd, 16), nil)
	if err == nil || strings.Contains(err.Error(), "abab") {
		t.Fatalf("err = %v", err)
	}
}

// FuzzHMACDRBG checks that arbitrary inputs never panic and that the
// mechanism is deterministic in its inputs.
func FuzzHMACDRBG(f *testing.F) {
	f.Add(fill(1, 32), fill(2, 16), []byte{}, []byte{}, uint16(64))
	f.Add(fill(1, 48), fill(2, 16), []byte("pers"), []byte("add"), uint16(1))
	f.Add([]byte{1}, []byte{}, []byte{}, []byte{}, uint16(0))
	f.Fuzz(func(t *testing.T, entropy, nonce, pers, add []byte, n uint16) {
		run := func() ([]byte, error) {
			d, err := NewHMACDRBG(entropy, nonce, pers)
			if err != nil {
				return nil, err
			}
			out := make([]byte, int(n)%(2*MaxBytesPerRequest))
			if err := d.Generate(out, add); err != nil {
				return nil, err
			}
			return out, nil
		}
		a, errA := run()
		b, errB := run()
		if (errA == nil) != (errB == nil) || !bytes.Equal(a, b) {
			t.Fatal("not deterministic")
		}
	})
}
