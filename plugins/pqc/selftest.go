package main

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha3"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/cloudflare/circl/sign"
	"github.com/cloudflare/circl/sign/slhdsa"
)

// Start-up self-tests (the FIPS 140-3 idea of cryptographic algorithm
// self-tests, run before the first request):
//
//   - known-answer: every parameter set derives a key pair from a fixed seed
//     and, with fixed randomness, encapsulates or signs; the SHA-256 of all
//     outputs must equal the digest pinned below;
//   - pairwise consistency: what was encapsulated decapsulates to the same
//     shared secret (through the seed and the expanded key), what was signed
//     verifies, and an altered ciphertext is implicitly rejected;
//   - implementation cross-checks: the selected ML-KEM backend must agree
//     with circl on the encapsulation key, and circl's unexported FIPS 204/205
//     internal functions (circl_internal.go) must agree bit for bit with its
//     public API.
//
// The inputs are fixed, so the self-tests never read the DRBG. The pinned
// digests were computed once with circl v1.6.5; crypto/mlkem produces the
// same ML-KEM-768/1024 digests, which is itself a cross-check of the two.
// SLH-DSA is tested through SLH-DSA-SHA2-128f and SLH-DSA-SHAKE-128f, the
// fastest set of each hash family: the twelve sets share one code path per
// family, and a failure marks the whole family unavailable. (The "s" sets
// would add seconds to every start.)

// selfTestFailure is a failed self-test and the parameter sets it disables.
type selfTestFailure struct {
	algorithms []string
	err        error
}

// Error describes the failure without any key material.
func (f selfTestFailure) Error() string {
	return fmt.Sprintf("%s: %v", strings.Join(f.algorithms, ", "), f.err)
}

// katDigests are the pinned known-answer digests, by parameter set.
func katDigests() map[string]string {
	return map[string]string{
		"ML-KEM-512":         "1bb4b43d45a8012c998e2a9e900a4a8b11932a6f596203d7750e7bb6cba674b1",
		"ML-KEM-768":         "9487ffa4f0e2b516988f3b0e729b9e943458d047fd13769dbbafed667d99c95f",
		"ML-KEM-1024":        "9f9da1e414cfaf0b614fd7b812a39df5a8ca91ecad1d7b2f9cabf8b011decaf0",
		"X-Wing":             "acafb11e568609a54030bbe597d68df8771a2dcf235a2a19a76c23074bcdc0bc",
		"Kyber512":           "cfb8f353ccb2f072d7eb7937a0688c55bfbd418d9cc11e65bed99adce330a388",
		"Kyber768":           "8a3d454a8ba27f1ca60b7a9a5822b5e22c9cfbae449bba4d3bba9037761b5f61",
		"Kyber1024":          "c7eda0eabdd4175d822ca35df2a0aaf6a466c1da353b27b3f30ebb2d89f61e93",
		"ML-DSA-44":          "c83cd8a4341c5b07002929ccb3b4c4de81387309b28b2200ef0bd6dc422a6003",
		"ML-DSA-65":          "c16a0c03e929b97eda81708fd0c5e2bdf783ede5a18f19b89fb9e3e4c6cb1410",
		"ML-DSA-87":          "40db29023638204cb7347abb753624096ffda2c27a5f1ae3707e6033166329e5",
		"SLH-DSA-SHA2-128f":  "4806f44eb3cf022f055eb8e9ceb32bd827989a014359bd0ed875d30add748394",
		"SLH-DSA-SHAKE-128f": "03f2118e2b3befff6a30b656f80e8d036475c851f25ac27313a9a3f1df560a6d",
		"Dilithium2":         "0d1e2b054712e0ee6e9a170213518fa8209961e2e5d54a185ab449f68065d3e2",
		"Dilithium3":         "7251581b9d4a11ee543f1285177cc5b81c50b036af3ab95df32cfc0b540a752d",
		"Dilithium5":         "e9820a317fb298d12cc43ac07af3892a97b8ba029023297120189ea63b7c6f53",
	}
}

// selfTestPattern is the fixed input of a self-test: SHAKE-256 of a label.
func selfTestPattern(label string, n int) []byte {
	return sha3.SumSHAKE256([]byte("aunsorm pqc self-test "+label), n)
}

// selfTest runs every self-test and returns the failures.
func (s *server) selfTest() []selfTestFailure {
	type job struct {
		names []string
		run   func() ([]byte, error) // returns the known-answer transcript
		kat   string                 // key into katDigests
	}
	var jobs []job
	for _, a := range s.reg.kems {
		jobs = append(jobs, job{[]string{a.name}, func() ([]byte, error) { return s.kemSelfTest(a) }, a.name})
	}
	for _, a := range s.reg.sigs {
		switch {
		case a.isSLH() && (a.name == "SLH-DSA-SHA2-128f" || a.name == "SLH-DSA-SHAKE-128f"):
			family := strings.Split(a.name, "-")[2] // SHA2 or SHAKE
			var names []string
			for _, b := range s.reg.sigs {
				if b.isSLH() && strings.Split(b.name, "-")[2] == family {
					names = append(names, b.name)
				}
			}
			jobs = append(jobs, job{names, func() ([]byte, error) { return s.slhSelfTest(a) }, a.name})
		case !a.isSLH():
			jobs = append(jobs, job{[]string{a.name}, func() ([]byte, error) { return sigSelfTest(a) }, a.name})
		}
	}
	pinned := katDigests()
	results := make([]error, len(jobs))
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Go(func() {
			transcript, err := safeRun(j.run)
			if err == nil {
				sum := sha256.Sum256(transcript)
				if got := hex.EncodeToString(sum[:]); got != pinned[j.kat] {
					err = fmt.Errorf("known-answer digest mismatch (got %s)", got)
				}
			}
			results[i] = err
		})
	}
	wg.Wait()
	var failures []selfTestFailure
	for i, err := range results {
		if err != nil {
			failures = append(failures, selfTestFailure{algorithms: jobs[i].names, err: err})
		}
	}
	return failures
}

// safeRun runs a self-test, turning a panic into an error.
func safeRun(f func() ([]byte, error)) (out []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("panic: %v", r)
		}
	}()
	return f()
}

// kemSelfTest runs the known-answer and pairwise tests of a KEM through the
// backend the server uses for it.
func (s *server) kemSelfTest(a *kemAlg) ([]byte, error) {
	seed := selfTestPattern(a.name+" seed", a.scheme.SeedSize())
	m := selfTestPattern(a.name+" m", a.scheme.EncapsulationSeedSize())
	pk, sk := a.scheme.DeriveKeyPair(seed)
	pub, err := pk.MarshalBinary()
	if err != nil {
		return nil, err
	}
	priv, err := sk.MarshalBinary()
	if err != nil {
		return nil, err
	}
	var ct, ss, ss2 []byte
	if b := s.backendFor(a); b != nil {
		ek, err := b.encapsulationKey(a.mlkemBits, seed)
		if err != nil {
			return nil, err
		}
		if !bytes.Equal(ek, pub) {
			return nil, fmt.Errorf("%s and circl derive different encapsulation keys", b.name())
		}
		if ct, ss, err = b.encapsulate(a.mlkemBits, ek, m); err != nil {
			return nil, err
		}
		if ss2, err = b.decapsulate(a.mlkemBits, seed, ct); err != nil {
			return nil, err
		}
	} else {
		if ct, ss, err = a.scheme.EncapsulateDeterministically(pk, m); err != nil {
			return nil, err
		}
		if ss2, err = a.scheme.Decapsulate(sk, ct); err != nil {
			return nil, err
		}
	}
	ss3, err := a.scheme.Decapsulate(sk, ct) // through the expanded key
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(ss, ss2) || !bytes.Equal(ss, ss3) {
		return nil, errors.New("pairwise consistency: decapsulation disagrees with encapsulation")
	}
	bad := bytes.Clone(ct)
	bad[0] ^= 1
	ss4, err := a.scheme.Decapsulate(sk, bad)
	if err != nil {
		return nil, err
	}
	if bytes.Equal(ss4, ss) {
		return nil, errors.New("an altered ciphertext decapsulated to the same shared secret")
	}
	return bytes.Join([][]byte{pub, priv, ct, ss, ss4}, nil), nil
}

// sigSelfTest runs the known-answer and pairwise tests of ML-DSA and Dilithium.
func sigSelfTest(a *sigAlg) ([]byte, error) {
	seed := selfTestPattern(a.name+" seed", a.scheme.SeedSize())
	msg := selfTestPattern(a.name+" message", 64)
	pk, sk := a.scheme.DeriveKey(seed)
	pub, err := pk.MarshalBinary()
	if err != nil {
		return nil, err
	}
	priv, err := sk.MarshalBinary()
	if err != nil {
		return nil, err
	}
	if a.mldsa == nil { // Dilithium: deterministic, no context
		sig := a.scheme.Sign(sk, msg, nil)
		if !a.scheme.Verify(pk, msg, sig, nil) {
			return nil, errors.New("pairwise consistency: signature does not verify")
		}
		return bytes.Join([][]byte{pub, priv, sig}, nil), nil
	}
	ctx := "aunsorm"
	public := a.scheme.Sign(sk, msg, &sign.SignatureOpts{Context: ctx})
	o := &signOptions{message: msg, context: []byte(ctx)}
	det, ok := a.mldsa.sign(sk, o.formatted(), [32]byte{})
	if !ok || !bytes.Equal(det, public) {
		return nil, errors.New("circl's internal signing disagrees with its public API")
	}
	rnd := [32]byte(selfTestPattern(a.name+" rnd", 32))
	hedged, ok := a.mldsa.sign(sk, o.formatted(), rnd)
	if !ok || bytes.Equal(hedged, det) {
		return nil, errors.New("hedged signing ignored its randomness")
	}
	if !a.scheme.Verify(pk, msg, hedged, &sign.SignatureOpts{Context: ctx}) || !a.mldsa.verify(pk, o.formatted(), det) {
		return nil, errors.New("pairwise consistency: signature does not verify")
	}
	return bytes.Join([][]byte{pub, priv, det, hedged}, nil), nil
}

// slhSelfTest runs the known-answer and pairwise tests of an SLH-DSA set.
func (s *server) slhSelfTest(a *sigAlg) ([]byte, error) {
	seed := selfTestPattern(a.name+" seed", sigSeedSize(a))
	msg := selfTestPattern(a.name+" message", 64)
	ctx := []byte("aunsorm")
	pk, sk, err := slhdsa.GenerateKey(bytes.NewReader(seed), a.slh)
	if err != nil {
		return nil, err
	}
	pub, err := pk.MarshalBinary()
	if err != nil {
		return nil, err
	}
	priv, err := sk.MarshalBinary()
	if err != nil {
		return nil, err
	}
	sig, err := slhdsa.SignDeterministic(&sk, slhdsa.NewMessage(msg), ctx)
	if err != nil {
		return nil, err
	}
	if !slhdsa.Verify(&pk, slhdsa.NewMessage(msg), sig, ctx) {
		return nil, errors.New("pairwise consistency: signature does not verify")
	}
	mPrime := append(append([]byte{0, byte(len(ctx))}, ctx...), msg...)
	if !circlSLHVerifyInternal(&pk, mPrime, sig) {
		return nil, errors.New("circl's internal verification disagrees with its public API")
	}
	if a.slh == slhdsa.SHA2_128f {
		internal, err := circlSLHSignInternal(&sk, mPrime, pub[:len(pub)/2])
		if err != nil || !bytes.Equal(internal, sig) {
			return nil, errors.New("circl's internal signing disagrees with its public API")
		}
	}
	return bytes.Join([][]byte{pub, priv, sig}, nil), nil
}
