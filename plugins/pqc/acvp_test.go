package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// NIST ACVP known-answer vectors (ML-KEM keyGen + encapDecap, ML-DSA keyGen +
// sigGen + sigVer, SLH-DSA keyGen + sigGen + sigVer), read from the testdata
// circl ships in its module, replayed through the HTTP handler. Every
// request's randomness comes from a scriptedReader loaded with exactly the
// bytes the vector prescribes (the encapsulation m, the ML-DSA rnd, the
// SLH-DSA opt_rand), and the test checks that all of it, and nothing more,
// was read: operations the vectors call deterministic get an empty source,
// so a stray DRBG read fails the request. Every comparison must match.

// acvpFile is the common shape of an ACVP prompt or result file.
type acvpFile struct {
	TestGroups []json.RawMessage `json:"testGroups"`
}

// acvpResults indexes a result file by tcId.
func acvpResults(t *testing.T, path string) map[int]json.RawMessage {
	t.Helper()
	var f struct {
		TestGroups []struct {
			Tests []json.RawMessage `json:"tests"`
		} `json:"testGroups"`
	}
	readGzipJSON(t, path, &f)
	out := map[int]json.RawMessage{}
	for _, g := range f.TestGroups {
		for _, raw := range g.Tests {
			var id struct {
				TcID int `json:"tcId"`
			}
			if err := json.Unmarshal(raw, &id); err != nil {
				t.Fatal(err)
			}
			out[id.TcID] = raw
		}
	}
	return out
}

// result decodes the expected result of one test case.
func result(t *testing.T, results map[int]json.RawMessage, tcID int, v any) {
	t.Helper()
	raw, ok := results[tcID]
	if !ok {
		t.Fatalf("no expected result for tcId %d", tcID)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatal(err)
	}
}

// acvpServer is a server whose randomness the test scripts.
type acvpServer struct {
	h   http.Handler
	rnd *scriptedReader
}

func newACVPServer(t *testing.T, impl string) *acvpServer {
	t.Helper()
	rnd := &scriptedReader{}
	s := newTestServer(t, config{Implementation: impl, SLHDSAMaxConcurrency: 4, SLHDSAQueueDepth: 64}, rnd)
	return &acvpServer{h: s.Handler(), rnd: rnd}
}

// post sends a request whose operation must read exactly rnd from the DRBG.
func (a *acvpServer) post(t *testing.T, path string, body, out any, rnd ...[]byte) {
	t.Helper()
	a.rnd.load(rnd...)
	post(t, a.h, path, body, out)
	if n := a.rnd.left(); n != 0 {
		t.Fatalf("%s: %d scripted random bytes were not used", path, n)
	}
}

func circlTestdata(t *testing.T, parts ...string) string {
	return filepath.Join(append([]string{moduleDir(t, circlModule)}, parts...)...)
}

func TestACVPMLKEM(t *testing.T) {
	for _, impl := range []string{implCircl, implGo} {
		t.Run(impl, func(t *testing.T) {
			t.Parallel()
			srv := newACVPServer(t, impl)
			t.Run("keyGen", func(t *testing.T) { acvpMLKEMKeyGen(t, srv, impl) })
			t.Run("encapDecap", func(t *testing.T) { acvpMLKEMEncapDecap(t, srv, impl) })
		})
	}
}

func acvpMLKEMKeyGen(t *testing.T, srv *acvpServer, impl string) {
	dir := circlTestdata(t, "kem", "mlkem", "testdata", "ML-KEM-keyGen-FIPS203")
	var prompt acvpFile
	readGzipJSON(t, filepath.Join(dir, "prompt.json.gz"), &prompt)
	results := acvpResults(t, filepath.Join(dir, "expectedResults.json.gz"))
	n := 0
	for _, raw := range prompt.TestGroups {
		var g struct {
			ParameterSet string `json:"parameterSet"`
			Tests        []struct {
				TcID int      `json:"tcId"`
				D    hexBytes `json:"d"`
				Z    hexBytes `json:"z"`
			} `json:"tests"`
		}
		mustUnmarshal(t, raw, &g)
		for _, tc := range g.Tests {
			var want struct {
				Ek hexBytes `json:"ek"`
				Dk hexBytes `json:"dk"`
			}
			result(t, results, tc.TcID, &want)
			var got kemKeygenResponse
			srv.post(t, "/pqc/ml-kem/keygen", kemKeygenRequest{Algorithm: g.ParameterSet, Seed: encode64(append(bytes.Clone(tc.D), tc.Z...))}, &got)
			if !bytes.Equal(b64d(t, got.PublicKey), want.Ek) || !bytes.Equal(b64d(t, got.PrivateKey), want.Dk) {
				t.Fatalf("tcId %d (%s): key pair differs", tc.TcID, g.ParameterSet)
			}
			if wantImpl := expectedImpl(impl, g.ParameterSet); got.Implementation != wantImpl {
				t.Fatalf("tcId %d: implementation %q, want %q", tc.TcID, got.Implementation, wantImpl)
			}
			n++
		}
	}
	if n != 75 {
		t.Fatalf("ran %d keyGen vectors, want 75", n)
	}
}

// expectedImpl is the implementation that serves an ML-KEM set.
func expectedImpl(impl, set string) string {
	if impl == implGo && set == "ML-KEM-512" {
		return implCircl
	}
	return impl
}

func acvpMLKEMEncapDecap(t *testing.T, srv *acvpServer, impl string) {
	dir := circlTestdata(t, "kem", "mlkem", "testdata", "ML-KEM-encapDecap-FIPS203")
	var prompt acvpFile
	readGzipJSON(t, filepath.Join(dir, "prompt.json.gz"), &prompt)
	results := acvpResults(t, filepath.Join(dir, "expectedResults.json.gz"))
	n := 0
	for _, raw := range prompt.TestGroups {
		var g struct {
			TestType     string   `json:"testType"`
			ParameterSet string   `json:"parameterSet"`
			Dk           hexBytes `json:"dk"`
			Tests        []struct {
				TcID int      `json:"tcId"`
				Ek   hexBytes `json:"ek"`
				M    hexBytes `json:"m"`
				C    hexBytes `json:"c"`
			} `json:"tests"`
		}
		mustUnmarshal(t, raw, &g)
		for _, tc := range g.Tests {
			var want struct {
				C hexBytes `json:"c"`
				K hexBytes `json:"k"`
			}
			result(t, results, tc.TcID, &want)
			switch g.TestType {
			case "AFT": // encapsulation with the vector's m as the DRBG output
				var got kemEncapsulateResponse
				srv.post(t, "/pqc/ml-kem/encapsulate", kemEncapsulateRequest{Algorithm: g.ParameterSet, PublicKey: encode64(tc.Ek)}, &got, tc.M)
				if !bytes.Equal(b64d(t, got.Ciphertext), want.C) || !bytes.Equal(b64d(t, got.SharedSecret), want.K) {
					t.Fatalf("tcId %d (%s): encapsulation differs", tc.TcID, g.ParameterSet)
				}
				if wantImpl := expectedImpl(impl, g.ParameterSet); got.Implementation != wantImpl {
					t.Fatalf("tcId %d: implementation %q, want %q", tc.TcID, got.Implementation, wantImpl)
				}
			case "VAL": // decapsulation with the expanded key, valid and invalid ciphertexts
				var got kemDecapsulateResponse
				srv.post(t, "/pqc/ml-kem/decapsulate", kemDecapsulateRequest{Algorithm: g.ParameterSet, PrivateKey: encode64(g.Dk), Ciphertext: encode64(tc.C)}, &got)
				if !bytes.Equal(b64d(t, got.SharedSecret), want.K) {
					t.Fatalf("tcId %d (%s): decapsulation differs", tc.TcID, g.ParameterSet)
				}
				// An expanded FIPS 203 key is circl's whatever the
				// implementation: crypto/mlkem takes seeds only.
				if got.Implementation != implCircl {
					t.Fatalf("tcId %d: expanded-key decapsulation by %q, want %q", tc.TcID, got.Implementation, implCircl)
				}
			default:
				t.Fatalf("unknown test type %q", g.TestType)
			}
			n++
		}
	}
	if n != 105 {
		t.Fatalf("ran %d encapDecap vectors, want 105", n)
	}
}

func TestACVPMLDSA(t *testing.T) {
	t.Parallel()
	srv := newACVPServer(t, implCircl)
	dir := circlTestdata(t, "sign", "mldsa", "testdata")
	t.Run("keyGen", func(t *testing.T) {
		var prompt acvpFile
		readGzipJSON(t, filepath.Join(dir, "ML-DSA-keyGen-FIPS204", "prompt.json.gz"), &prompt)
		results := acvpResults(t, filepath.Join(dir, "ML-DSA-keyGen-FIPS204", "expectedResults.json.gz"))
		n := 0
		for _, raw := range prompt.TestGroups {
			var g struct {
				ParameterSet string `json:"parameterSet"`
				Tests        []struct {
					TcID int      `json:"tcId"`
					Seed hexBytes `json:"seed"`
				} `json:"tests"`
			}
			mustUnmarshal(t, raw, &g)
			for _, tc := range g.Tests {
				var want struct {
					Pk hexBytes `json:"pk"`
					Sk hexBytes `json:"sk"`
				}
				result(t, results, tc.TcID, &want)
				var got sigKeygenResponse
				srv.post(t, "/pqc/ml-dsa/keygen", sigKeygenRequest{Algorithm: g.ParameterSet, Seed: encode64(tc.Seed)}, &got)
				if !bytes.Equal(b64d(t, got.PublicKey), want.Pk) || !bytes.Equal(b64d(t, got.PrivateKey), want.Sk) {
					t.Fatalf("tcId %d (%s): key pair differs", tc.TcID, g.ParameterSet)
				}
				n++
			}
		}
		if n != 75 {
			t.Fatalf("ran %d vectors, want 75", n)
		}
	})
	t.Run("sigGen", func(t *testing.T) {
		var prompt acvpFile
		readGzipJSON(t, filepath.Join(dir, "ML-DSA-sigGen-FIPS204", "prompt.json.gz"), &prompt)
		results := acvpResults(t, filepath.Join(dir, "ML-DSA-sigGen-FIPS204", "expectedResults.json.gz"))
		n := 0
		for _, raw := range prompt.TestGroups {
			var g struct {
				ParameterSet  string `json:"parameterSet"`
				Deterministic bool   `json:"deterministic"`
				Tests         []struct {
					TcID    int      `json:"tcId"`
					Sk      hexBytes `json:"sk"`
					Message hexBytes `json:"message"`
					Rnd     hexBytes `json:"rnd"`
				} `json:"tests"`
			}
			mustUnmarshal(t, raw, &g)
			for _, tc := range g.Tests {
				var want struct {
					Signature hexBytes `json:"signature"`
				}
				result(t, results, tc.TcID, &want)
				det := g.Deterministic
				var got sigSignResponse
				var rnd []byte
				if !det {
					rnd = tc.Rnd
				}
				// These vectors are for ML-DSA.Sign_internal (M′ given as is).
				srv.post(t, "/pqc/ml-dsa/sign", sigSignRequest{
					Algorithm: g.ParameterSet, PrivateKey: encode64(tc.Sk), Message: encode64(tc.Message),
					Deterministic: &det, Interface: interfaceInternal,
				}, &got, rnd)
				if !bytes.Equal(b64d(t, got.Signature), want.Signature) || got.Deterministic != det {
					t.Fatalf("tcId %d (%s, deterministic=%v): signature differs", tc.TcID, g.ParameterSet, det)
				}
				n++
			}
		}
		if n != 60 {
			t.Fatalf("ran %d vectors, want 60", n)
		}
	})
	t.Run("sigVer", func(t *testing.T) {
		var prompt acvpFile
		readGzipJSON(t, filepath.Join(dir, "ML-DSA-sigVer-FIPS204", "prompt.json.gz"), &prompt)
		results := acvpResults(t, filepath.Join(dir, "ML-DSA-sigVer-FIPS204", "expectedResults.json.gz"))
		n, rejected := 0, 0
		for _, raw := range prompt.TestGroups {
			var g struct {
				ParameterSet string   `json:"parameterSet"`
				Pk           hexBytes `json:"pk"`
				Tests        []struct {
					TcID      int      `json:"tcId"`
					Message   hexBytes `json:"message"`
					Signature hexBytes `json:"signature"`
				} `json:"tests"`
			}
			mustUnmarshal(t, raw, &g)
			for _, tc := range g.Tests {
				var want struct {
					TestPassed bool `json:"testPassed"`
				}
				result(t, results, tc.TcID, &want)
				var got sigVerifyResponse
				srv.post(t, "/pqc/ml-dsa/verify", sigVerifyRequest{
					Algorithm: g.ParameterSet, PublicKey: encode64(g.Pk), Message: encode64(tc.Message),
					Signature: encode64(tc.Signature), Interface: interfaceInternal,
				}, &got)
				if got.Valid != want.TestPassed {
					t.Fatalf("tcId %d (%s): valid=%v, want %v", tc.TcID, g.ParameterSet, got.Valid, want.TestPassed)
				}
				if !want.TestPassed {
					rejected++
				}
				n++
			}
		}
		if n != 45 || rejected == 0 {
			t.Fatalf("ran %d vectors (%d rejections), want 45 with rejections", n, rejected)
		}
	})
}

func mustUnmarshal(t *testing.T, raw json.RawMessage, v any) {
	t.Helper()
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatal(err)
	}
}

// slhGroupKind names an SLH-DSA sigGen group kind, for sampling.
func slhGroupKind(det bool, iface, preHash string) string {
	return fmt.Sprintf("det=%v/%s/%s", det, iface, preHash)
}

// isSlowSet reports whether a parameter set is an SLH-DSA "s" set.
func isSlowSet(name string) bool {
	return strings.HasPrefix(name, "SLH-DSA-") && strings.HasSuffix(name, "s")
}
