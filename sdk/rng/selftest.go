package rng

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
)

// The self-test vector is one NIST CAVP known answer for HMAC_DRBG with SHA-512:
// CAVS 14.3, drbgvectors_pr_false/HMAC_DRBG.rsp, section
// [SHA-512] [PredictionResistance = False] [EntropyInputLen = 256]
// [NonceLen = 128] [PersonalizationStringLen = 0] [AdditionalInputLen = 0]
// [ReturnedBitsLen = 2048], COUNT = 0 (also in testdata/HMAC_DRBG_pr_false.rsp,
// and the tests check the two agree).
const (
	selfTestEntropy       = "48c121b18733af15c27e1dd9ba66a9a81a5579cdba0f5b657ec53c2b9e90bbf6"
	selfTestNonce         = "bbb7c777428068fad9970891f879b1af"
	selfTestEntropyReseed = "e0ffefdadb9ccf990504d568bdb4d862cbe17ccce6e22dfcab8b4804fd21421a"
	selfTestReturnedBits  = "" +
		"05da6aac7d980da038f65f392841476d37fe70fbd3e369d1f80196e66e54b8fa" +
		"db1d60e1a0f3d4dc173769d75fc3410549d7a843270a54a068b4fe767d7d9a59" +
		"604510a875ad1e9731c8afd0fd50b825e2c50d062576175106a9981be37e02ec" +
		"7c5cd0a69aa0ca65bddaee1b0de532e10cfa1f5bf6a026e47379736a099d6750" +
		"ab121dbe3622b841baf8bdcbe875c85ba4b586b8b5b57b0fecbec08c12ff2a94" +
		"53c47c6e32a52103d972c62ab9affb8e728a31fcefbbccc556c0f0a35f4b10ac" +
		"e2d96b906e36cbb72233201e536d3e13b045187b417d2449cad1edd192e061f1" +
		"2d22147b0a176ea8d9c4c35404395b6502ef333a813b6586037479e0fa3c6a23"
)

// SelfTest runs the SP 800-90A §11.3 health tests of the DRBG mechanism:
// a known-answer test of instantiate, reseed and two generate calls against
// a NIST CAVP vector, then the error paths (a generate request past the
// reseed interval is refused; wipe zeroises the state and uninstantiates).
// It returns an error wrapping ErrSelfTest on any mismatch. Run it at start
// up, before the first use; NewReader does.
func SelfTest() error {
	entropy, err1 := hex.DecodeString(selfTestEntropy)
	nonce, err2 := hex.DecodeString(selfTestNonce)
	reseed, err3 := hex.DecodeString(selfTestEntropyReseed)
	want, err4 := hex.DecodeString(selfTestReturnedBits)
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return fmt.Errorf("%w: known answer does not decode", ErrSelfTest)
	}
	d, err := NewHMACDRBG(entropy, nonce, nil)
	if err != nil {
		return fmt.Errorf("%w: instantiate: %w", ErrSelfTest, err)
	}
	defer d.Wipe()
	if err := d.Reseed(reseed, nil); err != nil {
		return fmt.Errorf("%w: reseed: %w", ErrSelfTest, err)
	}
	got := make([]byte, len(want))
	for i := range 2 {
		if err := d.Generate(got, nil); err != nil {
			return fmt.Errorf("%w: generate %d: %w", ErrSelfTest, i+1, err)
		}
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("%w: known-answer mismatch", ErrSelfTest)
	}

	// Error handling: with an interval of 1 the next request is refused.
	if err := d.SetReseedInterval(1); err != nil {
		return fmt.Errorf("%w: set reseed interval: %w", ErrSelfTest, err)
	}
	if err := d.Generate(got[:1], nil); !errors.Is(err, ErrReseedRequired) {
		return fmt.Errorf("%w: generate past the reseed interval was not refused", ErrSelfTest)
	}
	d.Wipe()
	if !isZero(d.k) || !isZero(d.v) || d.Generate(got[:1], nil) == nil {
		return fmt.Errorf("%w: wipe did not zeroise and uninstantiate", ErrSelfTest)
	}
	clear(got)
	return nil
}

func isZero(b []byte) bool {
	var acc byte
	for _, c := range b {
		acc |= c
	}
	return acc == 0
}
