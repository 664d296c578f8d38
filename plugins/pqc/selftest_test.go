package main

import (
	"errors"
	"net/http"
	"strings"
	"testing"
)

// brokenBackend is crypto/mlkem with a fault: it flips a bit of every shared
// secret it encapsulates, as a miscompiled or tampered implementation might.
type brokenBackend struct{ goBackend }

func (b brokenBackend) encapsulate(bits int, ek, m []byte) ([]byte, []byte, error) {
	ct, ss, err := b.goBackend.encapsulate(bits, ek, m)
	if err == nil {
		ss[0] ^= 1
	}
	return ct, ss, err
}

func brokenDeps() deps {
	d := defaultDeps()
	d.backends[implGo] = brokenBackend{}
	return d
}

func TestSelfTestsPass(t *testing.T) {
	for _, impl := range []string{implCircl, implGo} {
		t.Run("ok/"+impl, func(t *testing.T) {
			s := newTestServer(t, config{Implementation: impl, Strict: true}, nil)
			if len(s.unavailable) != 0 {
				t.Fatalf("unavailable: %v", s.unavailable)
			}
		})
	}
}

func TestSelfTestFailureStrict(t *testing.T) {
	_, err := newServerWith(config{Implementation: implGo, Strict: true}, testRand(1), brokenDeps())
	if !errors.Is(err, errSelfTest) || !strings.Contains(err.Error(), "ML-KEM-768") {
		t.Fatalf("strict start with a broken implementation: %v", err)
	}
}

func TestSelfTestFailureNonStrict(t *testing.T) {
	s, err := newServerWith(config{Implementation: implGo}, testRand(1), brokenDeps())
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"ML-KEM-768", "ML-KEM-1024"} {
		if _, bad := s.unavailable[name]; !bad {
			t.Errorf("%s is still available", name)
		}
	}
	if _, bad := s.unavailable["ML-KEM-512"]; bad { // served by circl under "go"
		t.Error("ML-KEM-512 was disabled")
	}
	h := s.Handler()
	e := postErr(t, h, "/pqc/ml-kem/keygen", kemKeygenRequest{Algorithm: "ML-KEM-768"}, http.StatusServiceUnavailable)
	if e.Error != codeAlgorithmUnavailable {
		t.Fatalf("%+v", e)
	}
	post(t, h, "/pqc/ml-kem/keygen", kemKeygenRequest{Algorithm: "ML-KEM-512"}, nil)
	var doc capabilitiesDoc
	call(t, h, http.MethodGet, "/pqc/capabilities", nil, &doc)
	for _, c := range doc.Algorithms {
		if c.Name == "ML-KEM-768" && (c.Available || c.UnavailableReason == "") {
			t.Fatalf("capabilities: %+v", c)
		}
	}
	for _, name := range s.capabilities() {
		if name == "ML-KEM-768" || name == "ML-KEM-1024" {
			t.Fatalf("capabilities() lists %s", name)
		}
	}
}

func TestSelfTestPanicIsAFailure(t *testing.T) {
	_, err := safeRun(func() ([]byte, error) { panic("boom") })
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("safeRun: %v", err)
	}
}
