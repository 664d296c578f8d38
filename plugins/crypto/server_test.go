package main

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aunsorm/aunsorm/sdk/apierror"
)

// testRequestID is sent with every test request and must come back in
// every error body.
const testRequestID = "req-test-1"

// newTestHandler returns the API backed by crypto/rand.
func newTestHandler() http.Handler { return newServer(rand.Reader).Handler() }

// serve sends one request to h. A string or []byte body is sent as is,
// anything else as JSON.
func serve(h http.Handler, method, target string, body any) *httptest.ResponseRecorder {
	var raw []byte
	switch b := body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	case []byte:
		raw = b
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			panic(err)
		}
	}
	req := httptest.NewRequest(method, "/", bytes.NewReader(raw))
	if i := strings.IndexByte(target, '?'); i >= 0 {
		req.URL.Path, req.URL.RawQuery = target[:i], target[i+1:]
	} else {
		req.URL.Path = target
	}
	req.RequestURI = req.URL.RequestURI()
	req.Header.Set(apierror.RequestIDHeader, testRequestID)
	if raw != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// post sends a JSON POST and fails unless it answers 200; it decodes the
// answer into out.
func post(t testing.TB, h http.Handler, path string, body, out any) {
	t.Helper()
	rec := serve(h, http.MethodPost, path, body)
	if rec.Code != http.StatusOK {
		t.Fatalf("POST %s: status %d: %s", path, rec.Code, rec.Body.String())
	}
	if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
}

// snakeCase is the shape of an error code.
var snakeCase = regexp.MustCompile(`^[a-z]+(_[a-z]+)*$`)

// errorBody is the JSON error shape.
type errorBody struct {
	Code        string `json:"error"`
	Description string `json:"error_description"`
	RequestID   string `json:"request_id"`
}

// checkErrorShape verifies that rec holds the JSON error shape and nothing
// else, and returns it.
func checkErrorShape(rec *httptest.ResponseRecorder) (errorBody, error) {
	var e errorBody
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		return e, errors.New("error content type is " + ct)
	}
	var fields map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &fields); err != nil {
		return e, err
	}
	for k := range fields {
		if k != "error" && k != "error_description" && k != "request_id" {
			return e, errors.New("unexpected error field " + k)
		}
	}
	dec := json.NewDecoder(bytes.NewReader(rec.Body.Bytes()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return e, err
	}
	if !snakeCase.MatchString(e.Code) {
		return e, errors.New("error code is not snake_case: " + e.Code)
	}
	if e.Description == "" {
		return e, errors.New("empty error_description")
	}
	return e, nil
}

// wantError fails unless rec is an error with the status and code, and
// returns its description.
func wantError(t testing.TB, rec *httptest.ResponseRecorder, status int, code string) string {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status %d, want %d: %s", rec.Code, status, rec.Body.String())
	}
	e, err := checkErrorShape(rec)
	if err != nil {
		t.Fatalf("%v: %s", err, rec.Body.String())
	}
	if e.Code != code {
		t.Fatalf("error %q, want %q (%s)", e.Code, code, e.Description)
	}
	if e.RequestID != testRequestID {
		t.Fatalf("request_id %q, want %q", e.RequestID, testRequestID)
	}
	return e.Description
}

// checkFuzzResponse is the invariant of every fuzz target: 200, or a 4xx
// in the JSON error shape. Never a 5xx, never a panic.
func checkFuzzResponse(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	switch {
	case rec.Code == http.StatusOK:
		if !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("200 with a body that is not JSON: %q", rec.Body.String())
		}
	case rec.Code >= 400 && rec.Code < 500:
		if _, err := checkErrorShape(rec); err != nil {
			t.Fatalf("status %d: %v: %q", rec.Code, err, rec.Body.String())
		}
	default:
		t.Fatalf("status %d: %q", rec.Code, rec.Body.String())
	}
}

// fuzzPost posts body to path, checks the response's shape and, on a 200,
// decodes the request into in and the answer into out; it reports whether
// the request succeeded.
func fuzzPost(t *testing.T, h http.Handler, path string, body []byte, in, out any) bool {
	t.Helper()
	rec := serve(h, http.MethodPost, path, body)
	checkFuzzResponse(t, rec)
	if rec.Code != http.StatusOK {
		return false
	}
	if err := jsonUnmarshal(body, in); err != nil {
		t.Fatalf("accepted a body that does not decode: %v", err)
	}
	if err := jsonUnmarshal(rec.Body.Bytes(), out); err != nil {
		t.Fatal(err)
	}
	return true
}

// b64s is the API encoding of p, as a pointer for optional fields.
func b64s(p []byte) *string { s := encode(p); return &s }

// mustDecode decodes an API base64url value.
func mustDecode(t testing.TB, s string) []byte {
	t.Helper()
	b, err := apierror.Base64URL.DecodeString(s)
	if err != nil {
		t.Fatalf("response value %q: %v", s, err)
	}
	return b
}

func TestRouting(t *testing.T) {
	h := newTestHandler()
	tests := []struct {
		name   string
		method string
		path   string
		status int
		code   string
		allow  string
	}{
		{"fail/unknown-path", http.MethodPost, "/crypto/nope", http.StatusNotFound, "not_found", ""},
		{"fail/unknown-prefix", http.MethodGet, "/other", http.StatusNotFound, "not_found", ""},
		{"fail/root", http.MethodGet, "/", http.StatusNotFound, "not_found", ""},
		{"fail/trailing-slash", http.MethodPost, "/crypto/encrypt/", http.StatusNotFound, "not_found", ""},
		{"fail/double-slash", http.MethodPost, "/crypto//encrypt", http.StatusNotFound, "not_found", ""},
		{"fail/dot-segment", http.MethodPost, "/crypto/./encrypt", http.StatusNotFound, "not_found", ""},
		{"fail/case", http.MethodPost, "/Crypto/encrypt", http.StatusNotFound, "not_found", ""},
		{"fail/get-encrypt", http.MethodGet, "/crypto/encrypt", http.StatusMethodNotAllowed, "method_not_allowed", "POST"},
		{"fail/put-sign", http.MethodPut, "/crypto/sign", http.StatusMethodNotAllowed, "method_not_allowed", "POST"},
		{"fail/post-random", http.MethodPost, "/crypto/random", http.StatusMethodNotAllowed, "method_not_allowed", "GET, HEAD"},
		{"fail/delete-number", http.MethodDelete, "/random/number", http.StatusMethodNotAllowed, "method_not_allowed", "GET, HEAD"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := serve(h, tc.method, tc.path, nil)
			wantError(t, rec, tc.status, tc.code)
			if got := rec.Header().Get("Allow"); got != tc.allow {
				t.Fatalf("Allow %q, want %q", got, tc.allow)
			}
		})
	}
}

func TestRoutesTable(t *testing.T) {
	s := newServer(rand.Reader)
	seen := map[string]bool{}
	for _, rt := range s.table().Routes {
		key := rt.Method() + " " + rt.Path()
		if seen[key] {
			t.Fatalf("duplicate route %s", key)
		}
		seen[key] = true
		if !strings.HasPrefix(rt.Path(), "/crypto/") && !strings.HasPrefix(rt.Path(), "/random/") {
			t.Fatalf("route %s is outside the plugin's prefixes", key)
		}
	}
}

func TestCapabilities(t *testing.T) {
	caps := capabilities()
	for _, want := range []string{
		"aead:AES-256-GCM", "aead:ChaCha20-Poly1305", "aead:XChaCha20-Poly1305",
		"sign:Ed25519", "sign:ECDSA-P256", "sign:ECDSA-P384",
		"sign:RSA-PSS-2048", "sign:RSA-PSS-3072", "sign:RSA-PSS-4096",
		"mac:HMAC-SHA256", "mac:HMAC-SHA384", "mac:HMAC-SHA512",
		"hash:SHA-256", "hash:SHA-384", "hash:SHA-512", "hash:SHA3-256", "hash:SHA3-512",
		"kdf:HKDF-SHA256", "kdf:HKDF-SHA512", "random:bytes", "random:number",
	} {
		if !slices.Contains(caps, want) {
			t.Errorf("capabilities lack %q", want)
		}
	}
	if len(caps) != 21 {
		t.Errorf("capabilities: %d entries, want 21: %v", len(caps), caps)
	}
}

// TestBadInput drives every JSON endpoint with broken bodies.
func TestBadInput(t *testing.T) {
	h := newTestHandler()
	key := encode(make([]byte, 32))
	tests := []struct {
		name   string
		path   string
		body   string
		status int
		code   string
		desc   string // a substring the description must hold
	}{
		{"fail/empty-body", "/crypto/encrypt", "", 400, "invalid_request", "empty"},
		{"fail/malformed-json", "/crypto/encrypt", `{"algorithm":`, 400, "invalid_request", "truncated"},
		{"fail/syntax", "/crypto/hash", `{"algorithm" "SHA-256"}`, 400, "invalid_request", "malformed JSON"},
		{"fail/not-object", "/crypto/hash", `[1,2]`, 400, "invalid_request", "JSON object"},
		{"fail/two-values", "/crypto/hash", `{"algorithm":"SHA-256","data":""}{}`, 400, "invalid_request", "exactly one"},
		{"fail/unknown-field", "/crypto/hash", `{"algorithm":"SHA-256","data":"","extra":1}`, 400, "invalid_request", "extra"},
		{"fail/wrong-type", "/crypto/derive-key", `{"algorithm":"HKDF-SHA256","ikm":"AA","length":"32"}`, 400, "invalid_request", "length"},
		{"fail/fraction-length", "/crypto/derive-key", `{"algorithm":"HKDF-SHA256","ikm":"AA","length":1.5}`, 400, "invalid_request", "length"},
		{"fail/missing-algorithm", "/crypto/hash", `{"data":""}`, 400, "invalid_request", `"algorithm" is required`},
		{"fail/unknown-algorithm", "/crypto/hash", `{"algorithm":"MD5","data":""}`, 400, "unsupported_algorithm", "SHA-256, SHA-384, SHA-512, SHA3-256, SHA3-512"},
		{"fail/algorithm-case", "/crypto/encrypt", `{"algorithm":"aes-256-gcm","key":"` + key + `","plaintext":""}`, 400, "unsupported_algorithm", "AES-256-GCM"},
		{"fail/unknown-sign-algorithm", "/crypto/keypair", `{"algorithm":"RSA-PSS-1024"}`, 400, "unsupported_algorithm", "Ed25519, ECDSA-P256"},
		{"fail/unknown-mac", "/crypto/hmac", `{"algorithm":"HMAC-MD5","key":"AA","message":""}`, 400, "unsupported_algorithm", "HMAC-SHA256"},
		{"fail/unknown-kdf", "/crypto/derive-key", `{"algorithm":"PBKDF2","ikm":"AA","length":1}`, 400, "unsupported_algorithm", "HKDF-SHA512"},
		{"fail/missing-field", "/crypto/hash", `{"algorithm":"SHA-256"}`, 400, "invalid_request", `"data" is required`},
		{"fail/null-field", "/crypto/hash", `{"algorithm":"SHA-256","data":null}`, 400, "invalid_request", `"data" is required`},
		{"fail/padded-base64", "/crypto/hash", `{"algorithm":"SHA-256","data":"AA=="}`, 400, "invalid_request", `"data" must be base64url without padding: remove`},
		{"fail/std-alphabet", "/crypto/hash", `{"algorithm":"SHA-256","data":"+/+/"}`, 400, "invalid_request", `use '-' and '_'`},
		{"fail/bad-base64", "/crypto/hash", `{"algorithm":"SHA-256","data":"A"}`, 400, "invalid_request", `"data" must be base64url`},
		{"fail/trailing-bits", "/crypto/hash", `{"algorithm":"SHA-256","data":"AB"}`, 400, "invalid_request", `"data" must be base64url`},
		{"fail/line-break", "/crypto/hash", `{"algorithm":"SHA-256","data":"AAAA\nAAAA"}`, 400, "invalid_request", "line breaks"},
		{"fail/short-key", "/crypto/encrypt", `{"algorithm":"AES-256-GCM","key":"AAAA","plaintext":""}`, 400, "invalid_request", `"key" must be 32 bytes for AES-256-GCM, got 3`},
		{"fail/short-nonce", "/crypto/encrypt", `{"algorithm":"XChaCha20-Poly1305","key":"` + key + `","plaintext":"","nonce":"AAAA"}`, 400, "invalid_request", `"nonce" must be 24 bytes for XChaCha20-Poly1305, got 3`},
		{"fail/empty-nonce", "/crypto/encrypt", `{"algorithm":"AES-256-GCM","key":"` + key + `","plaintext":"","nonce":""}`, 400, "invalid_request", `"nonce" must be 12 bytes`},
		{"fail/decrypt-nonce", "/crypto/decrypt", `{"algorithm":"ChaCha20-Poly1305","key":"` + key + `","nonce":"AAAA","ciphertext":""}`, 400, "invalid_request", `"nonce" must be 12 bytes for ChaCha20-Poly1305, got 3`},
		{"fail/decrypt-short-ciphertext", "/crypto/decrypt", `{"algorithm":"AES-256-GCM","key":"` + key + `","nonce":"AAAAAAAAAAAAAAAA","ciphertext":"AAAA"}`, 400, "invalid_request", "at least 16 bytes"},
		{"fail/decrypt-missing-nonce", "/crypto/decrypt", `{"algorithm":"AES-256-GCM","key":"` + key + `","ciphertext":""}`, 400, "invalid_request", `"nonce" is required`},
		{"fail/hmac-empty-key", "/crypto/hmac", `{"algorithm":"HMAC-SHA256","key":"","message":""}`, 400, "invalid_key", "must not be empty"},
		{"fail/hkdf-length-zero", "/crypto/derive-key", `{"algorithm":"HKDF-SHA256","ikm":"AA","length":0}`, 400, "invalid_request", "between 1 and 8160"},
		{"fail/hkdf-length-big", "/crypto/derive-key", `{"algorithm":"HKDF-SHA512","ikm":"AA","length":16321}`, 400, "invalid_request", "between 1 and 16320"},
		{"fail/hkdf-missing-length", "/crypto/derive-key", `{"algorithm":"HKDF-SHA512","ikm":"AA"}`, 400, "invalid_request", `"length" is required`},
		{"fail/hkdf-empty-ikm", "/crypto/derive-key", `{"algorithm":"HKDF-SHA512","ikm":"","length":1}`, 400, "invalid_key", "must not be empty"},
		{"fail/sign-garbage-key", "/crypto/sign", `{"algorithm":"Ed25519","private_key":"AAAA","message":""}`, 400, "invalid_key", "PKCS#8"},
		{"fail/verify-garbage-key", "/crypto/verify", `{"algorithm":"Ed25519","public_key":"AAAA","message":"","signature":""}`, 400, "invalid_key", "SubjectPublicKeyInfo"},
		{"fail/oversized", "/crypto/hash", `{"algorithm":"SHA-256","data":"` + strings.Repeat("A", 70<<10) + `"}`, 413, "request_too_large", "65536"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := serve(h, http.MethodPost, tc.path, tc.body)
			desc := wantError(t, rec, tc.status, tc.code)
			if !strings.Contains(desc, tc.desc) {
				t.Fatalf("description %q lacks %q", desc, tc.desc)
			}
		})
	}
}

func TestBadContentType(t *testing.T) {
	h := newTestHandler()
	req := httptest.NewRequest(http.MethodPost, "/crypto/hash", strings.NewReader(`{"algorithm":"SHA-256","data":""}`))
	req.Header.Set("Content-Type", "text/plain")
	req.Header.Set(apierror.RequestIDHeader, testRequestID)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	wantError(t, rec, http.StatusUnsupportedMediaType, "unsupported_media_type")
}

func TestDecodeField(t *testing.T) {
	str := func(s string) *string { return &s }
	tests := []struct {
		name     string
		in       *string
		required bool
		want     []byte
		wantErr  string
	}{
		{"ok/absent-optional", nil, false, nil, ""},
		{"ok/empty", str(""), true, []byte{}, ""},
		{"ok/bytes", str("_-8"), true, []byte{0xff, 0xef}, ""},
		{"fail/absent-required", nil, true, nil, "required"},
		{"fail/padding", str("_w=="), true, nil, "remove the trailing '='"},
		{"fail/std-alphabet", str("/w"), true, nil, "use '-' and '_'"},
		{"fail/carriage-return", str("AA\rAA"), true, nil, "line breaks"},
		{"fail/non-canonical", str("_x"), true, nil, "invalid data"},
		{"fail/space", str("AA AA"), true, nil, "invalid data at offset 2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeField("f", tc.in, tc.required)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || !bytes.Equal(got, tc.want) || (got == nil) != (tc.want == nil) {
				t.Fatalf("got %x, %v; want %x", got, err, tc.want)
			}
		})
	}
}

// seededReader is a deterministic stream for tests that must show where
// randomness comes from; it counts the bytes it hands out. Like the SDK's
// DRBG it is safe for concurrent use.
type seededReader struct {
	mu sync.Mutex
	c  *mrand.ChaCha8
	n  int
}

// newSeededReader returns a stream fixed by seed.
func newSeededReader(seed byte) *seededReader {
	var s [32]byte
	s[0] = seed
	return &seededReader{c: mrand.NewChaCha8(s)}
}

// Read implements io.Reader.
func (r *seededReader) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n, err := r.c.Read(p)
	r.n += n
	return n, err
}

// failingReader is a random source that always fails.
type failingReader struct{}

// Read implements io.Reader.
func (failingReader) Read([]byte) (int, error) { return 0, errors.New("entropy gone") }

func TestRandomSourceFailure(t *testing.T) {
	h := newServer(failingReader{}).Handler()
	key := encode(make([]byte, 32))
	tests := []struct {
		name   string
		method string
		path   string
		body   string
	}{
		{"fail/encrypt-nonce", http.MethodPost, "/crypto/encrypt", `{"algorithm":"AES-256-GCM","key":"` + key + `","plaintext":""}`},
		{"fail/keypair-ed25519", http.MethodPost, "/crypto/keypair", `{"algorithm":"Ed25519"}`},
		{"fail/keypair-ecdsa", http.MethodPost, "/crypto/keypair", `{"algorithm":"ECDSA-P256"}`},
		{"fail/random-bytes", http.MethodGet, "/crypto/random?bytes=16", ""},
		{"fail/random-number", http.MethodGet, "/random/number?min=1&max=6", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := serve(h, tc.method, tc.path, tc.body)
			desc := wantError(t, rec, http.StatusInternalServerError, "internal_error")
			if strings.Contains(desc, "entropy") {
				t.Fatalf("internal detail leaked: %q", desc)
			}
		})
	}
}

// jsonUnmarshal decodes a response body strictly.
func jsonUnmarshal(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// TestConcurrentRequests runs many requests at once on one server and one
// reader (run with -race): handlers share no unsynchronised state.
func TestConcurrentRequests(t *testing.T) {
	h := newServer(newSeededReader(2)).Handler()
	body := `{"algorithm":"XChaCha20-Poly1305","key":"` + encode(make([]byte, 32)) + `","plaintext":"aGk"}`
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 20 {
				if rec := serve(h, http.MethodPost, "/crypto/encrypt", body); rec.Code != http.StatusOK {
					t.Errorf("encrypt: %d %s", rec.Code, rec.Body)
				}
				if rec := serve(h, http.MethodGet, "/random/number?min=0&max=9", nil); rec.Code != http.StatusOK {
					t.Errorf("random number: %d %s", rec.Code, rec.Body)
				}
			}
		})
	}
	wg.Wait()
}
