package main

import (
	"bytes"
	"compress/gzip"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aunsorm/aunsorm/sdk/apierror"
)

// scriptedReader is a random source that hands out exactly the bytes a test
// loads into it and fails once they are used up, so a test can pin the
// randomness of an operation and check that all of it came from the DRBG.
type scriptedReader struct {
	mu  sync.Mutex
	buf []byte
}

var errScriptExhausted = errors.New("scripted reader: no more bytes")

// load sets the bytes the next reads return.
func (s *scriptedReader) load(b ...[]byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf = bytes.Join(b, nil)
}

// left reports how many loaded bytes were not read.
func (s *scriptedReader) left() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.buf)
}

// Read implements io.Reader.
func (s *scriptedReader) Read(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.buf) == 0 {
		return 0, errScriptExhausted
	}
	n := copy(p, s.buf)
	s.buf = s.buf[n:]
	return n, nil
}

// testRand is a deterministic random source for tests that do not pin
// their randomness.
func testRand(seed byte) io.Reader {
	var k [32]byte
	k[0] = seed
	return rand.NewChaCha8(k)
}

// syncReader serialises reads of r.
type syncReader struct {
	mu sync.Mutex
	r  io.Reader
}

func (s *syncReader) Read(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.r.Read(p)
}

// newTestServer builds a server or fails the test. r need not be safe for
// concurrent use: reads are serialised here, as the SDK's DRBG does.
func newTestServer(t testing.TB, cfg config, r io.Reader) *server {
	t.Helper()
	if r == nil {
		r = testRand(1)
	}
	s, err := newServer(cfg, &syncReader{r: r})
	if err != nil {
		t.Fatalf("newServer: %v", err)
	}
	return s
}

// call sends a request with a JSON body (nil for none) to h and decodes the
// JSON answer into out (when not nil). It returns the status and raw body.
func call(t testing.TB, h http.Handler, method, path string, body, out any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req := httptest.NewRequest(method, path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if out != nil && rec.Code == http.StatusOK {
		if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
			t.Fatalf("%s %s: decoding %q: %v", method, path, rec.Body.String(), err)
		}
	}
	return rec.Code, rec.Body.Bytes()
}

// post is call with POST and a 200 expected.
func post(t testing.TB, h http.Handler, path string, body, out any) {
	t.Helper()
	if code, raw := call(t, h, http.MethodPost, path, body, out); code != http.StatusOK {
		t.Fatalf("POST %s: status %d: %s", path, code, raw)
	}
}

// apiErr is the decoded error body.
type apiErr struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

// postErr posts and decodes an error answer, checking its status.
func postErr(t testing.TB, h http.Handler, path string, body any, wantStatus int) apiErr {
	t.Helper()
	code, raw := call(t, h, http.MethodPost, path, body, nil)
	if code != wantStatus {
		t.Fatalf("POST %s: status %d, want %d: %s", path, code, wantStatus, raw)
	}
	var e apiErr
	if err := json.Unmarshal(raw, &e); err != nil {
		t.Fatalf("error body %q: %v", raw, err)
	}
	return e
}

// b64d decodes a base64url field of a response.
func b64d(t testing.TB, s string) []byte {
	t.Helper()
	b, err := apierror.Base64URL.DecodeString(s)
	if err != nil {
		t.Fatalf("decoding %q: %v", s, err)
	}
	return b
}

// hexBytes is a hex string in an ACVP file.
type hexBytes []byte

// UnmarshalJSON decodes a hex string.
func (h *hexBytes) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	d, err := hex.DecodeString(s)
	*h = d
	return err
}

// moduleDir returns the module cache folder of a dependency in go.mod.
func moduleDir(t testing.TB, module string) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", module).Output()
	dir := strings.TrimSpace(string(out))
	if err != nil || dir == "" {
		t.Fatalf("locating module %s (run `go mod download %s`): %v", module, module, err)
	}
	return dir
}

// readGzipJSON decodes a gzipped JSON file.
func readGzipJSON(t testing.TB, path string, v any) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.NewDecoder(zr).Decode(v); err != nil {
		t.Fatalf("%s: %v", filepath.Base(path), err)
	}
}
