package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestJSInterop exchanges keys, ciphertexts and signatures with an
// independent implementation, npm @noble/post-quantum, run by node from
// testdata/js/interop.mjs:
//
//   - ML-KEM-512/768/1024 and X-Wing: noble encapsulates to our public key
//     and we decapsulate; we encapsulate to noble's public key and noble
//     decapsulates; key pairs derived from the same seed are identical;
//   - ML-DSA-44/65/87, SLH-DSA-SHA2-128f and SLH-DSA-SHAKE-128f: we verify
//     noble's signatures (with a context string), noble verifies ours and
//     rejects an altered one; key pairs from the same seed are identical.
//
// The npm package is installed by `npm ci` in testdata/js. Without it the
// test is skipped on a developer machine but fails in CI (CI set).
func TestJSInterop(t *testing.T) {
	dir := filepath.Join("testdata", "js")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@noble", "post-quantum", "package.json")); err != nil {
		if os.Getenv("CI") == "" {
			t.Skip("@noble/post-quantum is not installed; run: npm ci --prefix plugins/pqc/testdata/js")
		}
		t.Fatalf("CI: @noble/post-quantum is not installed in %s (npm ci --prefix plugins/pqc/testdata/js): %v", dir, err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node_modules is installed but node is not on PATH: %v", err)
	}
	runNode := func(req, resp any) {
		t.Helper()
		in, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(node, "interop.mjs")
		cmd.Dir = dir
		cmd.Stdin = bytes.NewReader(in)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("node interop.mjs: %v: %s", err, stderr.String())
		}
		if err := json.Unmarshal(out, resp); err != nil {
			t.Fatalf("node answer %q: %v", out, err)
		}
	}

	h := newTestServer(t, config{}, nil).Handler()
	in := shakeStream("aunsorm interop")
	type kemItem struct {
		Alg          string `json:"alg"`
		PublicKey    string `json:"publicKey,omitempty"`
		Seed         string `json:"seed,omitempty"`
		SecretKey    string `json:"secretKey,omitempty"`
		CipherText   string `json:"cipherText,omitempty"`
		SharedSecret string `json:"sharedSecret,omitempty"`
	}
	type sigItem struct {
		Alg       string `json:"alg"`
		PublicKey string `json:"publicKey,omitempty"`
		Seed      string `json:"seed,omitempty"`
		Message   string `json:"message,omitempty"`
		Context   string `json:"context,omitempty"`
		Signature string `json:"signature,omitempty"`
		Valid     bool   `json:"valid,omitempty"`
	}
	type exchange struct {
		Phase string    `json:"phase"`
		KEM   []kemItem `json:"kem"`
		Sig   []sigItem `json:"sig"`
	}
	kemAlgs := []struct {
		alg, route string
		seed       int
	}{{"ML-KEM-512", routeMLKEM, 64}, {"ML-KEM-768", routeMLKEM, 64}, {"ML-KEM-1024", routeMLKEM, 64}, {"X-Wing", routeXWing, 32}}
	sigAlgs := []struct {
		alg, route string
		seed       int
	}{{"ML-DSA-44", routeMLDSA, 32}, {"ML-DSA-65", routeMLDSA, 32}, {"ML-DSA-87", routeMLDSA, 32}, {"SLH-DSA-SHA2-128f", routeSLHDSA, 48}, {"SLH-DSA-SHAKE-128f", routeSLHDSA, 48}}

	// Phase 1: our public keys to noble; noble's ciphertexts, keys and signatures back.
	produce := exchange{Phase: "produce"}
	ours := map[string]kemKeygenResponse{}
	for _, k := range kemAlgs {
		var kg kemKeygenResponse
		post(t, h, "/pqc/"+k.route+"/keygen", kemKeygenRequest{Algorithm: k.alg}, &kg)
		ours[k.alg] = kg
		produce.KEM = append(produce.KEM, kemItem{Alg: k.alg, PublicKey: kg.PublicKey, Seed: encode64(read(in, k.seed))})
	}
	for _, s := range sigAlgs {
		produce.Sig = append(produce.Sig, sigItem{Alg: s.alg, Seed: encode64(read(in, s.seed)), Message: encode64(read(in, 100)), Context: encode64([]byte("aunsorm interop"))})
	}
	var noble exchange
	runNode(produce, &noble)
	if len(noble.KEM) != len(kemAlgs) || len(noble.Sig) != len(sigAlgs) {
		t.Fatalf("noble answered %d KEM and %d signature items", len(noble.KEM), len(noble.Sig))
	}

	check := exchange{Phase: "check"}
	for i, k := range kemAlgs {
		n := noble.KEM[i]
		t.Run("ok/noble_encapsulates/"+k.alg, func(t *testing.T) {
			var dec kemDecapsulateResponse
			post(t, h, "/pqc/"+k.route+"/decapsulate", kemDecapsulateRequest{Algorithm: k.alg, PrivateKey: ours[k.alg].PrivateKey, Ciphertext: n.CipherText}, &dec)
			if dec.SharedSecret != n.SharedSecret {
				t.Fatal("shared secrets differ")
			}
		})
		t.Run("ok/same_keys_from_seed/"+k.alg, func(t *testing.T) {
			var kg kemKeygenResponse
			post(t, h, "/pqc/"+k.route+"/keygen", kemKeygenRequest{Algorithm: k.alg, Seed: produce.KEM[i].Seed}, &kg)
			if kg.PublicKey != n.PublicKey || kg.PrivateKey != n.SecretKey {
				t.Fatal("key pairs from the same seed differ")
			}
		})
		var enc kemEncapsulateResponse
		post(t, h, "/pqc/"+k.route+"/encapsulate", kemEncapsulateRequest{Algorithm: k.alg, PublicKey: n.PublicKey}, &enc)
		check.KEM = append(check.KEM, kemItem{Alg: k.alg, SecretKey: n.SecretKey, CipherText: enc.Ciphertext, SharedSecret: enc.SharedSecret})
	}
	for i, s := range sigAlgs {
		n, p := noble.Sig[i], produce.Sig[i]
		t.Run("ok/we_verify_noble/"+s.alg, func(t *testing.T) {
			var v sigVerifyResponse
			post(t, h, "/pqc/"+s.route+"/verify", sigVerifyRequest{Algorithm: s.alg, PublicKey: n.PublicKey, Message: p.Message, Context: p.Context, Signature: n.Signature}, &v)
			if !v.Valid {
				t.Fatal("noble's signature does not verify")
			}
			var kg sigKeygenResponse
			post(t, h, "/pqc/"+s.route+"/keygen", sigKeygenRequest{Algorithm: s.alg, Seed: p.Seed}, &kg)
			if kg.PublicKey != n.PublicKey {
				t.Fatal("public keys from the same seed differ")
			}
		})
		var kg sigKeygenResponse
		post(t, h, "/pqc/"+s.route+"/keygen", sigKeygenRequest{Algorithm: s.alg}, &kg)
		var sg sigSignResponse
		post(t, h, "/pqc/"+s.route+"/sign", sigSignRequest{Algorithm: s.alg, PrivateKey: kg.PrivateKey, Message: p.Message, Context: p.Context}, &sg)
		check.Sig = append(check.Sig, sigItem{Alg: s.alg, PublicKey: kg.PublicKey, Message: p.Message, Context: p.Context, Signature: sg.Signature})
		bad := b64d(t, sg.Signature)
		bad[10] ^= 1
		check.Sig = append(check.Sig, sigItem{Alg: s.alg, PublicKey: kg.PublicKey, Message: p.Message, Context: p.Context, Signature: encode64(bad)})
	}

	// Phase 2: noble decapsulates our ciphertexts and verifies our signatures.
	var verdict exchange
	runNode(check, &verdict)
	for i, k := range check.KEM {
		if verdict.KEM[i].SharedSecret != k.SharedSecret {
			t.Errorf("%s: noble decapsulates our ciphertext to a different secret", k.Alg)
		}
	}
	for i, s := range check.Sig {
		if want := i%2 == 0; verdict.Sig[i].Valid != want {
			t.Errorf("%s: noble says valid=%v for our %s signature", s.Alg, verdict.Sig[i].Valid, map[bool]string{true: "genuine", false: "altered"}[want])
		}
	}
}
