package main

import (
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
)

// fipsSizes is the specification's table of every parameter set, written out
// from the standards themselves, so the sizes the implementations report
// are checked against an independent source (the original product reported
// ML-DSA-65 with ML-DSA-44's sizes and the wrong category):
//
//   - FIPS 203 Table 3 (ML-KEM ek, dk, c; 32-byte shared secret, 64-byte seed)
//     and §8's categories;
//   - FIPS 204 Table 2 (ML-DSA pk, sk, signature; 32-byte seed) and Table 1's
//     categories (ML-DSA-44 is category 2);
//   - FIPS 205 Table 2 (SLH-DSA pk = 2n, sk = 4n, signature; seed 3n);
//   - draft-connolly-cfrg-xwing-kem-05 §5 (X-Wing: 1216, 32, 1120, 32);
//   - the round-3 Kyber specification and the Dilithium round 3.1
//     specification of 2021-02-08 (32-byte tr), which circl implements.
var fipsSizes = []struct {
	name                         string
	category                     int
	pub, priv, seed, ct, ss, sig int
	oid                          string
}{
	{"ML-KEM-512", 1, 800, 1632, 64, 768, 32, 0, "2.16.840.1.101.3.4.4.1"},
	{"ML-KEM-768", 3, 1184, 2400, 64, 1088, 32, 0, "2.16.840.1.101.3.4.4.2"},
	{"ML-KEM-1024", 5, 1568, 3168, 64, 1568, 32, 0, "2.16.840.1.101.3.4.4.3"},
	{"X-Wing", 3, 1216, 32, 32, 1120, 32, 0, ""},
	{"Kyber512", 1, 800, 1632, 64, 768, 32, 0, ""},
	{"Kyber768", 3, 1184, 2400, 64, 1088, 32, 0, ""},
	{"Kyber1024", 5, 1568, 3168, 64, 1568, 32, 0, ""},
	{"ML-DSA-44", 2, 1312, 2560, 32, 0, 0, 2420, "2.16.840.1.101.3.4.3.17"},
	{"ML-DSA-65", 3, 1952, 4032, 32, 0, 0, 3309, "2.16.840.1.101.3.4.3.18"},
	{"ML-DSA-87", 5, 2592, 4896, 32, 0, 0, 4627, "2.16.840.1.101.3.4.3.19"},
	{"SLH-DSA-SHA2-128s", 1, 32, 64, 48, 0, 0, 7856, "2.16.840.1.101.3.4.3.20"},
	{"SLH-DSA-SHA2-128f", 1, 32, 64, 48, 0, 0, 17088, "2.16.840.1.101.3.4.3.21"},
	{"SLH-DSA-SHA2-192s", 3, 48, 96, 72, 0, 0, 16224, "2.16.840.1.101.3.4.3.22"},
	{"SLH-DSA-SHA2-192f", 3, 48, 96, 72, 0, 0, 35664, "2.16.840.1.101.3.4.3.23"},
	{"SLH-DSA-SHA2-256s", 5, 64, 128, 96, 0, 0, 29792, "2.16.840.1.101.3.4.3.24"},
	{"SLH-DSA-SHA2-256f", 5, 64, 128, 96, 0, 0, 49856, "2.16.840.1.101.3.4.3.25"},
	{"SLH-DSA-SHAKE-128s", 1, 32, 64, 48, 0, 0, 7856, "2.16.840.1.101.3.4.3.26"},
	{"SLH-DSA-SHAKE-128f", 1, 32, 64, 48, 0, 0, 17088, "2.16.840.1.101.3.4.3.27"},
	{"SLH-DSA-SHAKE-192s", 3, 48, 96, 72, 0, 0, 16224, "2.16.840.1.101.3.4.3.28"},
	{"SLH-DSA-SHAKE-192f", 3, 48, 96, 72, 0, 0, 35664, "2.16.840.1.101.3.4.3.29"},
	{"SLH-DSA-SHAKE-256s", 5, 64, 128, 96, 0, 0, 29792, "2.16.840.1.101.3.4.3.30"},
	{"SLH-DSA-SHAKE-256f", 5, 64, 128, 96, 0, 0, 49856, "2.16.840.1.101.3.4.3.31"},
	{"Dilithium2", 2, 1312, 2528, 32, 0, 0, 2420, ""},
	{"Dilithium3", 3, 1952, 4000, 32, 0, 0, 3293, ""},
	{"Dilithium5", 5, 2592, 4864, 32, 0, 0, 4595, ""},
}

func TestCapabilitiesMatchStandards(t *testing.T) {
	for _, impl := range []string{implCircl, implGo} {
		t.Run("ok/"+impl, func(t *testing.T) {
			s := newTestServer(t, config{Implementation: impl}, nil)
			var doc capabilitiesDoc
			if code, raw := call(t, s.Handler(), http.MethodGet, "/pqc/capabilities", nil, &doc); code != http.StatusOK {
				t.Fatalf("status %d: %s", code, raw)
			}
			if doc.Implementation.Name != impl || doc.Implementation.Version == "" {
				t.Fatalf("implementation %+v, want %s", doc.Implementation, impl)
			}
			if len(doc.Algorithms) != len(fipsSizes) {
				t.Fatalf("%d algorithms, want %d", len(doc.Algorithms), len(fipsSizes))
			}
			for i, want := range fipsSizes {
				got := doc.Algorithms[i]
				t.Run(want.name, func(t *testing.T) {
					if got.Name != want.name {
						t.Fatalf("name %q", got.Name)
					}
					if got.NISTCategory != want.category {
						t.Errorf("category %d, want %d", got.NISTCategory, want.category)
					}
					if got.PublicKeySize != want.pub || got.PrivateKeySize != want.priv || got.SeedSize != want.seed {
						t.Errorf("pk/sk/seed %d/%d/%d, want %d/%d/%d", got.PublicKeySize, got.PrivateKeySize, got.SeedSize, want.pub, want.priv, want.seed)
					}
					if got.CiphertextSize != want.ct || got.SharedSecretSize != want.ss || got.SignatureSize != want.sig {
						t.Errorf("ct/ss/sig %d/%d/%d, want %d/%d/%d", got.CiphertextSize, got.SharedSecretSize, got.SignatureSize, want.ct, want.ss, want.sig)
					}
					if got.OID != want.oid {
						t.Errorf("oid %q, want %q", got.OID, want.oid)
					}
					if !got.Available {
						t.Errorf("unavailable: %s", got.UnavailableReason)
					}
					wantImpl := implCircl
					if impl == implGo && (want.name == "ML-KEM-768" || want.name == "ML-KEM-1024") {
						wantImpl = implGo
					}
					if got.Implementation != wantImpl {
						t.Errorf("implementation %q, want %q", got.Implementation, wantImpl)
					}
				})
			}
		})
	}
}

func TestCapabilitiesStrict(t *testing.T) {
	s := newTestServer(t, config{Strict: true}, nil)
	var doc capabilitiesDoc
	call(t, s.Handler(), http.MethodGet, "/pqc/capabilities", nil, &doc)
	if !doc.Strict {
		t.Fatal("strict not reported")
	}
	refused := []string{"ML-KEM-512", "Kyber512", "Kyber768", "Kyber1024", "Dilithium2", "Dilithium3", "Dilithium5"}
	for _, c := range doc.Algorithms {
		want := !slices.Contains(refused, c.Name)
		if c.Available != want {
			t.Errorf("%s: available=%v, want %v", c.Name, c.Available, want)
		}
	}
	names := s.capabilities()
	if slices.Contains(names, "ML-KEM-512") || !slices.Contains(names, "ML-KEM-768") || !slices.Contains(names, "X-Wing") || len(names) != len(fipsSizes)-len(refused) {
		t.Fatalf("capabilities() = %v", names)
	}
}

func TestImplementationName(t *testing.T) {
	for _, impl := range []string{implCircl, implGo} {
		if got := newTestServer(t, config{Implementation: impl}, nil).implementationName(); got != impl {
			t.Errorf("implementationName() = %q, want %q", got, impl)
		}
	}
}

// TestCirclPinnedVersion keeps the reported fallback version equal to go.mod.
func TestCirclPinnedVersion(t *testing.T) {
	gomod, err := os.ReadFile(filepath.Join("..", "..", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`github\.com/cloudflare/circl (v\S+)`).FindSubmatch(gomod)
	if m == nil || string(m[1]) != circlPinnedVersion {
		t.Fatalf("go.mod requires circl %s, circlPinnedVersion is %s", m, circlPinnedVersion)
	}
	if moduleDir(t, circlModule) == "" {
		t.Fatal("circl not in the module cache")
	}
}
