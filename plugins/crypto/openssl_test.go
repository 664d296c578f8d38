package main

import (
	"context"
	"crypto"
	"encoding/pem"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// opensslAlgorithm is how OpenSSL makes and uses keys of one API scheme.
type opensslAlgorithm struct {
	name    string
	genpkey []string // genpkey arguments
	opts    []string // pkeyutl -sign/-verify options
	rawin   bool     // pkeyutl hashes nothing: Ed25519 signs the message
	hash    crypto.Hash
}

func opensslAlgorithms() []opensslAlgorithm {
	pss := []string{"-pkeyopt", "rsa_padding_mode:pss", "-pkeyopt", "rsa_pss_saltlen:digest", "-pkeyopt", "digest:sha256", "-pkeyopt", "rsa_mgf1_md:sha256"}
	return []opensslAlgorithm{
		{name: "Ed25519", genpkey: []string{"-algorithm", "ed25519"}, rawin: true},
		{name: "ECDSA-P256", genpkey: []string{"-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"}, opts: []string{"-pkeyopt", "digest:sha256"}, hash: crypto.SHA256},
		{name: "ECDSA-P384", genpkey: []string{"-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"}, opts: []string{"-pkeyopt", "digest:sha384"}, hash: crypto.SHA384},
		{name: "RSA-PSS-2048", genpkey: []string{"-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"}, opts: pss, hash: crypto.SHA256},
	}
}

// opensslRunner runs openssl in a scratch directory.
type opensslRunner struct {
	t   *testing.T
	bin string
	dir string
}

// newOpenSSL finds openssl or skips the test (fails it under CI, which
// installs openssl).
func newOpenSSL(t *testing.T) *opensslRunner {
	bin, err := exec.LookPath("openssl")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("CI: openssl is not installed (apt-get install openssl)")
		}
		t.Skip("openssl is not installed")
	}
	return &opensslRunner{t: t, bin: bin, dir: t.TempDir()}
}

// run executes openssl and returns its error and combined output.
func (o *opensslRunner) run(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, o.bin, args...)
	cmd.Dir = o.dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// must runs openssl and fails the test on error.
func (o *opensslRunner) must(args ...string) {
	o.t.Helper()
	if out, err := o.run(args...); err != nil {
		o.t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// write stores a file in the scratch directory and returns its name.
func (o *opensslRunner) write(name string, data []byte) string {
	o.t.Helper()
	if err := os.WriteFile(filepath.Join(o.dir, name), data, 0o600); err != nil {
		o.t.Fatal(err)
	}
	return name
}

// read loads a file from the scratch directory.
func (o *opensslRunner) read(name string) []byte {
	o.t.Helper()
	b, err := os.ReadFile(filepath.Join(o.dir, name))
	if err != nil {
		o.t.Fatal(err)
	}
	return b
}

// input is what pkeyutl signs: the message itself with -rawin (Ed25519),
// else its digest.
func (a opensslAlgorithm) input(msg []byte) []byte {
	if a.rawin {
		return msg
	}
	h := a.hash.New()
	h.Write(msg)
	return h.Sum(nil)
}

// pkeyutl builds a pkeyutl command line.
func (a opensslAlgorithm) pkeyutl(op string, args ...string) []string {
	out := append([]string{"pkeyutl", op}, args...)
	if a.rawin {
		out = append(out, "-rawin")
	}
	return append(out, a.opts...)
}

// TestOpenSSLInterop checks our signatures with OpenSSL and OpenSSL's keys
// and signatures with us, both ways, for every scheme OpenSSL's pkeyutl
// drives simply.
func TestOpenSSLInterop(t *testing.T) {
	msg := []byte("interoperability is a feature")
	h := newTestHandler()
	for _, a := range opensslAlgorithms() {
		t.Run("ok/ours-verified-by-openssl/"+a.name, func(t *testing.T) {
			o := newOpenSSL(t)
			kp := testKeypair(t, a.name)
			var sig signResponse
			post(t, h, "/crypto/sign", signRequest{Algorithm: a.name, PrivateKey: &kp.PrivateKey, Message: b64s(msg)}, &sig)
			o.write("pub.pem", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: mustDecode(t, kp.PublicKey)}))
			o.write("in.bin", a.input(msg))
			o.write("sig.bin", mustDecode(t, sig.Signature))
			o.write("bad.bin", flip(mustDecode(t, sig.Signature)))
			o.must(a.pkeyutl("-verify", "-pubin", "-inkey", "pub.pem", "-in", "in.bin", "-sigfile", "sig.bin")...)
			if out, err := o.run(a.pkeyutl("-verify", "-pubin", "-inkey", "pub.pem", "-in", "in.bin", "-sigfile", "bad.bin")...); err == nil {
				t.Fatalf("openssl accepted a flipped signature:\n%s", out)
			}
			// Our private key, as PKCS#8, is readable by OpenSSL.
			o.write("key.pem", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: mustDecode(t, kp.PrivateKey)}))
			o.must("pkey", "-in", "key.pem", "-check", "-noout")
		})
		t.Run("ok/openssl-verified-by-ours/"+a.name, func(t *testing.T) {
			o := newOpenSSL(t)
			o.must(append([]string{"genpkey", "-out", "key.pem"}, a.genpkey...)...)
			o.must("pkcs8", "-topk8", "-nocrypt", "-in", "key.pem", "-outform", "DER", "-out", "key.der")
			o.must("pkey", "-in", "key.pem", "-pubout", "-outform", "DER", "-out", "pub.der")
			o.write("in.bin", a.input(msg))
			o.must(a.pkeyutl("-sign", "-inkey", "key.pem", "-in", "in.bin", "-out", "sig.bin")...)
			priv, pub, osig := encode(o.read("key.der")), encode(o.read("pub.der")), o.read("sig.bin")
			var v verifyResponse
			post(t, h, "/crypto/verify", verifyRequest{Algorithm: a.name, PublicKey: &pub, Message: b64s(msg), Signature: b64s(osig)}, &v)
			if !v.Valid {
				t.Fatal("OpenSSL's signature does not verify")
			}
			post(t, h, "/crypto/verify", verifyRequest{Algorithm: a.name, PublicKey: &pub, Message: b64s(msg), Signature: b64s(flip(osig))}, &v)
			if v.Valid {
				t.Fatal("flipped OpenSSL signature verifies")
			}
			// OpenSSL's PKCS#8 key signs through the API; OpenSSL checks it.
			var sig signResponse
			post(t, h, "/crypto/sign", signRequest{Algorithm: a.name, PrivateKey: &priv, Message: b64s(msg)}, &sig)
			o.write("oursig.bin", mustDecode(t, sig.Signature))
			o.must(a.pkeyutl("-verify", "-inkey", "key.pem", "-in", "in.bin", "-sigfile", "oursig.bin")...)
		})
	}
}

// TestOpenSSLKeyFormats feeds OpenSSL keys the API must refuse: a P-384
// key for ECDSA-P256, and keys in the legacy SEC 1 and PKCS#1 encodings.
func TestOpenSSLKeyFormats(t *testing.T) {
	o := newOpenSSL(t)
	o.must("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384", "-out", "p384.pem")
	o.must("pkcs8", "-topk8", "-nocrypt", "-in", "p384.pem", "-outform", "DER", "-out", "p384.der")
	o.must("ec", "-in", "p384.pem", "-outform", "DER", "-out", "sec1.der")
	o.must("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "rsa.pem")
	o.must("rsa", "-in", "rsa.pem", "-traditional", "-outform", "DER", "-out", "pkcs1.der")
	tests := []struct {
		name, alg, file, want string
	}{
		{"fail/curve-mismatch", "ECDSA-P256", "p384.der", "needs an ECDSA P-256 key, got an ECDSA P-384 key"},
		{"fail/sec1", "ECDSA-P384", "sec1.der", "SEC 1 EC private key"},
		{"fail/pkcs1", "RSA-PSS-2048", "pkcs1.der", "PKCS#1 RSA private key"},
	}
	h := newTestHandler()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			priv := encode(o.read(tc.file))
			rec := serve(h, http.MethodPost, "/crypto/sign", signRequest{Algorithm: tc.alg, PrivateKey: &priv, Message: b64s(nil)})
			if desc := wantError(t, rec, http.StatusBadRequest, codeInvalidKey); !strings.Contains(desc, tc.want) {
				t.Fatalf("description %q lacks %q", desc, tc.want)
			}
		})
	}
}
