// Command aunsorm-plugin-pqc is the Aunsorm post-quantum cryptography plugin.
// It serves, over HTTP under /pqc/, the NIST post-quantum standards:
//
//   - ML-KEM-512/768/1024 (FIPS 203) key generation, encapsulation and
//     decapsulation, implemented by cloudflare/circl or by the Go standard
//     library's crypto/mlkem (HCL implementation = "circl" | "go");
//   - ML-DSA-44/65/87 (FIPS 204) and the twelve SLH-DSA parameter sets
//     (FIPS 205) key generation, signing (hedged by default, deterministic on
//     request, with a context string) and verification;
//   - the X-Wing hybrid KEM (X25519 + ML-KEM-768, draft-connolly-cfrg-xwing-kem);
//   - in non-strict mode only, the pre-standard round-3 CRYSTALS-Kyber and
//     CRYSTALS-Dilithium, under their own names.
//
// Callers should pick ML-KEM-768 (or X-Wing) and ML-DSA-65 unless they have
// a reason not to. Keys, ciphertexts and signatures travel as base64url
// without padding, in their raw FIPS encodings or, where an IETF LAMPS OID
// exists, as SubjectPublicKeyInfo / PKCS#8 DER. Every random byte comes from
// the io.Reader the plugin is given (the platform DRBG). See README.md.
package main
