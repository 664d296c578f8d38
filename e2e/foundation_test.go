package e2e

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aunsorm/aunsorm/sdk/pluginhost"
)

var b64 = base64.RawURLEncoding

func TestHealthAndAttestation(t *testing.T) {
	d := startDaemon(t, daemonOpts{Plugins: map[string]string{"crypto": ""}})
	r := do(t, "GET", d.url+"/health", nil)
	if r.status != 200 || r.json["status"] != "ok" {
		t.Fatalf("health: %d %s", r.status, r.body)
	}
	clk := r.json["clock"].(map[string]any)
	for _, k := range []string{"status", "age_ms", "max_ms", "authority_id", "authority_fingerprint_hex", "attested_unix_ms", "refresh_enabled"} {
		if _, ok := clk[k]; !ok {
			t.Fatalf("clock.%s missing: %s", k, r.body)
		}
	}
	if clk["max_ms"].(float64) != 30000 || clk["refresh_enabled"] != true {
		t.Fatalf("clock: %v", clk)
	}
	if r.json["rng"].(map[string]any)["status"] != "ok" || r.json["plugins"].(map[string]any)["crypto"] != "ok" {
		t.Fatalf("health body: %s", r.body)
	}
	if r.header.Get("X-Aunsorm-Attested-Time-Ms") == "" || r.header.Get("X-Aunsorm-Attestation-Age-Ms") == "" || r.header.Get("X-Request-Id") == "" {
		t.Fatalf("headers: %v", r.header)
	}

	// The snapshot verifies with the authority key the daemon wrote, and
	// with openssl as docs/clock-attestation.md shows.
	a := do(t, "GET", d.url+"/clock/attestation", nil)
	if a.status != 200 {
		t.Fatalf("attestation: %d %s", a.status, a.body)
	}
	msg := signedBytes(a.json)
	sig, err := base64.StdEncoding.DecodeString(a.json["signature_b64"].(string))
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := filepath.Join(d.dir, "data", "clock", "authority.pub.pem")
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, "msg"), msg, 0o600))
	must(t, os.WriteFile(filepath.Join(dir, "sig"), sig, 0o600))
	out, err := exec.Command("openssl", "pkeyutl", "-verify", "-pubin", "-inkey", pubPEM, "-rawin",
		"-in", filepath.Join(dir, "msg"), "-sigfile", filepath.Join(dir, "sig")).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Signature Verified Successfully") {
		t.Fatalf("openssl verify: %v %s", err, out)
	}
	// The key file is private.
	st, err := os.Stat(filepath.Join(d.dir, "data", "clock", "authority.key"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("authority.key mode: %v %v", st.Mode(), err)
	}
}

// signedBytes rebuilds the canonical encoding from the JSON document, the
// way docs/clock-attestation.md tells a verifier to.
func signedBytes(j map[string]any) []byte {
	num := func(k string) string { return strconvF(j[k].(float64)) }
	var b strings.Builder
	b.WriteString("aunsorm-clock-attestation-v1\n")
	b.WriteString("authority_id=" + j["authority_id"].(string) + "\n")
	b.WriteString("authority_fingerprint_hex=" + j["authority_fingerprint_hex"].(string) + "\n")
	for _, k := range []string{"unix_time_ms", "stratum", "round_trip_ms", "dispersion_ms", "estimated_offset_ms"} {
		b.WriteString(k + "=" + num(k) + "\n")
	}
	return []byte(b.String())
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestCryptoThroughGateway(t *testing.T) {
	d := startDaemon(t, daemonOpts{Plugins: map[string]string{"crypto": ""}})
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	pt := []byte("attack at dawn")
	for _, alg := range []string{"AES-256-GCM", "ChaCha20-Poly1305", "XChaCha20-Poly1305"} {
		t.Run("ok/aead/"+alg, func(t *testing.T) {
			enc := do(t, "POST", d.url+"/crypto/encrypt", map[string]any{"algorithm": alg, "key": b64.EncodeToString(key), "plaintext": b64.EncodeToString(pt), "aad": b64.EncodeToString([]byte("hdr"))})
			if enc.status != 200 {
				t.Fatalf("encrypt: %d %s", enc.status, enc.body)
			}
			dec := do(t, "POST", d.url+"/crypto/decrypt", map[string]any{"algorithm": alg, "key": b64.EncodeToString(key), "nonce": enc.json["nonce"], "ciphertext": enc.json["ciphertext"], "aad": b64.EncodeToString([]byte("hdr"))})
			if dec.status != 200 || dec.json["plaintext"] != b64.EncodeToString(pt) {
				t.Fatalf("decrypt: %d %s", dec.status, dec.body)
			}
			bad := do(t, "POST", d.url+"/crypto/decrypt", map[string]any{"algorithm": alg, "key": b64.EncodeToString(key), "nonce": enc.json["nonce"], "ciphertext": enc.json["ciphertext"], "aad": b64.EncodeToString([]byte("other"))})
			wantError(t, bad, 400, "decryption_failed")
		})
	}
	for _, alg := range []string{"Ed25519", "ECDSA-P256", "ECDSA-P384", "RSA-PSS-2048"} {
		t.Run("ok/sign/"+alg, func(t *testing.T) {
			kp := do(t, "POST", d.url+"/crypto/keypair", map[string]any{"algorithm": alg})
			if kp.status != 200 {
				t.Fatalf("keypair: %d %s", kp.status, kp.body)
			}
			msg := b64.EncodeToString([]byte("message"))
			sg := do(t, "POST", d.url+"/crypto/sign", map[string]any{"algorithm": alg, "private_key": kp.json["private_key"], "message": msg})
			if sg.status != 200 {
				t.Fatalf("sign: %d %s", sg.status, sg.body)
			}
			vf := do(t, "POST", d.url+"/crypto/verify", map[string]any{"algorithm": alg, "public_key": kp.json["public_key"], "message": msg, "signature": sg.json["signature"]})
			if vf.status != 200 || vf.json["valid"] != true {
				t.Fatalf("verify: %d %s", vf.status, vf.body)
			}
			vf = do(t, "POST", d.url+"/crypto/verify", map[string]any{"algorithm": alg, "public_key": kp.json["public_key"], "message": b64.EncodeToString([]byte("other")), "signature": sg.json["signature"]})
			if vf.status != 200 || vf.json["valid"] != false {
				t.Fatalf("verify other: %d %s", vf.status, vf.body)
			}
		})
	}
	t.Run("ok/hmac", func(t *testing.T) {
		r := do(t, "POST", d.url+"/crypto/hmac", map[string]any{"algorithm": "HMAC-SHA256", "key": b64.EncodeToString([]byte("key")), "message": b64.EncodeToString([]byte("The quick brown fox jumps over the lazy dog"))})
		// RFC 2104 / Wikipedia's well-known example value.
		if r.status != 200 || r.json["mac"] != "97yD9DBThCSxMpjmqm-xQ-9NWaFJRhdZl0edvC0aPNg" {
			t.Fatalf("hmac: %d %s", r.status, r.body)
		}
	})
	t.Run("ok/hash", func(t *testing.T) {
		r := do(t, "POST", d.url+"/crypto/hash", map[string]any{"algorithm": "SHA-256", "data": b64.EncodeToString([]byte("abc"))})
		// FIPS 180-2 Appendix B.1: SHA-256("abc").
		if r.status != 200 || r.json["digest"] != "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0" {
			t.Fatalf("hash: %d %s", r.status, r.body)
		}
	})
	t.Run("ok/derive-key", func(t *testing.T) {
		r := do(t, "POST", d.url+"/crypto/derive-key", map[string]any{"algorithm": "HKDF-SHA256", "ikm": b64.EncodeToString(make([]byte, 22)), "length": 42})
		if r.status != 200 || len(mustB64(t, r.json["key"])) != 42 {
			t.Fatalf("derive: %d %s", r.status, r.body)
		}
	})
	t.Run("ok/random", func(t *testing.T) {
		r := do(t, "GET", d.url+"/crypto/random?bytes=64", nil)
		if r.status != 200 || len(mustB64(t, r.json["data"])) != 64 {
			t.Fatalf("random: %d %s", r.status, r.body)
		}
		n := do(t, "GET", d.url+"/random/number?min=10&max=12", nil)
		if v, _ := n.json["value"].(float64); n.status != 200 || v < 10 || v > 12 {
			t.Fatalf("number: %d %s", n.status, n.body)
		}
	})
}

func mustB64(t testing.TB, v any) []byte {
	t.Helper()
	s, _ := v.(string)
	b, err := b64.DecodeString(s)
	if err != nil {
		t.Fatalf("not base64url: %v", v)
	}
	return b
}

func TestBadInput(t *testing.T) {
	d := startDaemon(t, daemonOpts{Plugins: map[string]string{"crypto": ""}, Gateway: `tls {
    disabled = true
  }
  max_body_bytes = 4096
  rate_limit {
    requests_per_second = 0
  }`})
	tests := []struct {
		name, method, path string
		body               any
		status             int
		code               string
	}{
		{"fail/unknown-route", "GET", "/nope", nil, 404, "not_found"},
		{"fail/unknown-crypto-route", "POST", "/crypto/nope", "{}", 404, "not_found"},
		{"fail/malformed-json", "POST", "/crypto/encrypt", `{"algorithm":`, 400, "invalid_request"},
		{"fail/unknown-field", "POST", "/crypto/hash", `{"algorithm":"SHA-256","data":"","x":1}`, 400, "invalid_request"},
		{"fail/unknown-algorithm", "POST", "/crypto/hash", `{"algorithm":"MD5","data":"YWJj"}`, 400, "unsupported_algorithm"},
		{"fail/wrong-key-size", "POST", "/crypto/encrypt", `{"algorithm":"AES-256-GCM","key":"AAAA","plaintext":""}`, 400, "invalid_request"},
		{"fail/bad-base64", "POST", "/crypto/hash", `{"algorithm":"SHA-256","data":"***"}`, 400, "invalid_request"},
		{"fail/oversized-body", "POST", "/crypto/hash", `{"algorithm":"SHA-256","data":"` + strings.Repeat("A", 8000) + `"}`, 413, "request_too_large"},
		{"fail/too-many-random-bytes", "GET", "/crypto/random?bytes=65537", nil, 400, "invalid_request"},
		{"fail/wrong-method", "GET", "/crypto/encrypt", nil, 405, "method_not_allowed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, do(t, tc.method, d.url+tc.path, tc.body), tc.status, tc.code)
		})
	}
}

func TestRateLimit(t *testing.T) {
	d := startDaemon(t, daemonOpts{Plugins: map[string]string{"crypto": ""}, Gateway: `tls {
    disabled = true
  }
  rate_limit {
    requests_per_second = 1
    burst = 3
  }`, NoWait: true})
	time.Sleep(time.Second) // let the bucket refill after startup probes
	var limited response
	for i := 0; i < 10; i++ {
		r := do(t, "GET", d.url+"/crypto/random?bytes=1", nil)
		if r.status == 429 {
			limited = r
			break
		}
	}
	wantError(t, limited, 429, "rate_limited")
	if limited.header.Get("Retry-After") == "" {
		t.Fatal("no Retry-After")
	}
}

func TestSHA256PinMismatch(t *testing.T) {
	wrong := strings.Repeat("ab", 32)
	d := startDaemon(t, daemonOpts{Plugins: map[string]string{"crypto": `  sha256 = "` + wrong + `"`}, NoWait: true})
	select {
	case <-d.done:
	case <-time.After(patience):
		t.Fatal("daemon kept running with a mismatched plugin digest")
	}
	if d.exit == nil {
		t.Fatal("daemon exited 0 after refusing the plugin")
	}
	logs := d.logs.String()
	actual, err := pluginhost.FileDigest(bins.plugins["crypto"])
	must(t, err)
	for _, want := range []string{`\"crypto\"`, wrong, actual, "sha256 mismatch"} {
		if !strings.Contains(logs, want) {
			t.Fatalf("log lacks %q:\n%s", want, tail(logs, 20))
		}
	}
}

func TestEd25519KeysInterop(t *testing.T) {
	// Keys from /crypto/keypair are PKCS#8 / SPKI DER that Go parses.
	d := startDaemon(t, daemonOpts{Plugins: map[string]string{"crypto": ""}})
	kp := do(t, "POST", d.url+"/crypto/keypair", map[string]any{"algorithm": "Ed25519"})
	pub, err := x509.ParsePKIXPublicKey(mustB64(t, kp.json["public_key"]))
	must(t, err)
	priv, err := x509.ParsePKCS8PrivateKey(mustB64(t, kp.json["private_key"]))
	must(t, err)
	if sk, ok := priv.(ed25519.PrivateKey); !ok || !sk.Public().(ed25519.PublicKey).Equal(pub) {
		t.Fatalf("the PKCS#8 private key (%T) is not the SPKI public key's pair", priv)
	}
	sg := do(t, "POST", d.url+"/crypto/sign", map[string]any{"algorithm": "Ed25519", "private_key": kp.json["private_key"], "message": b64.EncodeToString([]byte("m"))})
	if !ed25519.Verify(pub.(ed25519.PublicKey), []byte("m"), mustB64(t, sg.json["signature"])) {
		t.Fatal("signature does not verify with Go")
	}
}

// TestHeadLikeGet: HEAD answers as GET would, without the body, whether
// the gateway answers itself or a plugin does over the framed socket; the
// length is the one GET would have (RFC 9110, sections 9.3.2 and 8.6).
func TestHeadLikeGet(t *testing.T) {
	d := startDaemon(t, daemonOpts{Plugins: map[string]string{"crypto": ""}})
	for _, tc := range []struct{ name, url string }{
		{"gateway-health", d.url + "/health"},
		{"gateway-attestation", d.url + "/clock/attestation"},
		{"plugin-through-gateway", d.url + "/crypto/random?bytes=8"},
		{"plugin-direct", "http://" + d.ports["crypto"] + "/crypto/random?bytes=8"},
	} {
		t.Run("ok/"+tc.name, func(t *testing.T) {
			get := do(t, "GET", tc.url, nil)
			head := do(t, "HEAD", tc.url, nil)
			if get.status != 200 || head.status != 200 || len(head.body) != 0 {
				t.Fatalf("GET %d, HEAD %d with %d body bytes", get.status, head.status, len(head.body))
			}
			if head.header.Get("Content-Type") != get.header.Get("Content-Type") || head.header.Get("X-Request-Id") == "" {
				t.Fatalf("HEAD header %v, GET header %v", head.header, get.header)
			}
			// /health's and the attestation's length moves with the numbers in
			// them; random bytes of one size always encode to one length.
			if cl := head.header.Get("Content-Length"); strings.Contains(tc.url, "/crypto/") && cl != strconv.Itoa(len(get.body)) {
				t.Fatalf("HEAD Content-Length %q, GET sent %d bytes", cl, len(get.body))
			}
		})
	}
	r := do(t, "POST", d.url+"/health", "{}")
	if r.status != 405 || r.header.Get("Allow") != "GET, HEAD" {
		t.Fatalf("POST /health: %d, Allow %q", r.status, r.header.Get("Allow"))
	}
}
