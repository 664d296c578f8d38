// Package rng is AunsormNativeRng, the random source every Aunsorm key,
// nonce, token id and serial is drawn from.
//
// It implements:
//
//   - HMAC_DRBG with SHA-512 (security strength 256 bits) of NIST SP 800-90A
//     Rev. 1, §10.1.2: instantiate, reseed, generate (at most 2^19 bits per
//     request), a configurable reseed interval (default and maximum 2^48
//     requests) and uninstantiate (Wipe zeroises K and V). See
//     https://doi.org/10.6028/NIST.SP.800-90Ar1.
//   - The SP 800-90A §11.3 health tests of the mechanism: SelfTest runs a
//     NIST CAVP known answer (instantiate, reseed, generate twice) and the
//     error paths; NewReader runs it before first use. The package tests run
//     CAVP vectors (no reseed, reseed, prediction resistance; SHA-256 and
//     SHA-512; with and without personalization and additional input) from
//     testdata/.
//   - The continuous health tests of NIST SP 800-90B §4.4 on raw noise-source
//     bytes, the Repetition Count Test and the Adaptive Proportion Test
//     (window 512), with cutoffs derived from an assessed min-entropy per byte
//     at alpha = 2^-20, and the §4.3 start-up test over 1024 samples
//     (HealthTester). See https://doi.org/10.6028/NIST.SP.800-90B.
//
// What to pick:
//
//   - In a plugin: NewReader with Config.Seed calling the daemon's Entropy
//     host service. The Reader is an io.Reader safe for concurrent use; pass
//     it wherever an io.Reader of randomness is wanted (see the Go 1.26 note
//     below) and read seeds, nonces, token ids and serials from it.
//   - In the daemon: NewNative, which seeds from getrandom(2) through the
//     health tests, and Reader.SeedFunc to hand each plugin its seeds.
//
// Since Go 1.26 most standard-library key generation and signing functions
// (ecdsa.GenerateKey, rsa.GenerateKey, ecdh Curve.GenerateKey, randomized
// ECDSA and RSA signing, crypto/rand.Int and Prime) ignore the io.Reader
// they are given unless GODEBUG=cryptocustomrand=1 is set. To draw a key
// from this package, read its seed or scalar from the Reader and use the
// seeded constructor: ed25519.NewKeyFromSeed, mlkem.NewDecapsulationKey768,
// ecdh Curve.NewPrivateKey, ecdsa.ParseRawPrivateKey (retrying on the rare
// out-of-range scalar). ed25519.GenerateKey still reads from its argument.
//
// A Reader reseeds itself every Config.ReseedInterval (default five
// minutes) without ever making a Read wait for the seed source. If reseeding
// keeps failing it goes on serving from the current state, counting failures
// in Stats, until Config.ReseedRequests generate requests have been served;
// then Read fails rather than run on a stale seed. Stats().Healthy feeds the
// /health endpoints.
//
// Seed material and DRBG state never appear in errors or Stats.
package rng
