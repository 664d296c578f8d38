// Package clock defines Aunsorm's signed clock attestation: a snapshot of the
// authority's time, signed with Ed25519, that every component checks before it
// trusts a time (token expiry, DPoP proofs, certificate validity).
//
// The signed bytes are a canonical text encoding (see SignedBytes and
// docs/clock-attestation.md) so anyone can verify a snapshot with the
// authority's public key, for instance with `openssl pkeyutl -verify -rawin`.
// The authority fingerprint is the lowercase hex SHA-256 of the authority's
// public key in SubjectPublicKeyInfo DER form, the value operators pin.
//
// Use a Tracker to hold the current snapshot: it verifies each update against
// the pinned key and answers, on every request, whether attested time is fresh.
package clock

import (
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// Snapshot is one signed statement of the authority's time.
type Snapshot struct {
	AuthorityID             string `json:"authority_id"`
	AuthorityFingerprintHex string `json:"authority_fingerprint_hex"`
	UnixTimeMs              int64  `json:"unix_time_ms"`
	Stratum                 uint32 `json:"stratum"`
	RoundTripMs             int64  `json:"round_trip_ms"`
	DispersionMs            int64  `json:"dispersion_ms"`
	EstimatedOffsetMs       int64  `json:"estimated_offset_ms"`
	SignatureB64            string `json:"signature_b64"`
}

// signedHeader starts every signed encoding; it binds the format version.
const signedHeader = "aunsorm-clock-attestation-v1\n"

// maxIDLen bounds AuthorityID.
const maxIDLen = 128

// SignedBytes returns the canonical bytes the authority signs: the header
// line followed by one "name=value\n" line per field, in this fixed order,
// integers in base 10 without leading zeros:
//
//	aunsorm-clock-attestation-v1
//	authority_id=<id>
//	authority_fingerprint_hex=<64 lowercase hex>
//	unix_time_ms=<int>
//	stratum=<int>
//	round_trip_ms=<int>
//	dispersion_ms=<int>
//	estimated_offset_ms=<int>
func (s *Snapshot) SignedBytes() []byte {
	var b strings.Builder
	b.Grow(256)
	b.WriteString(signedHeader)
	field := func(name, value string) {
		b.WriteString(name)
		b.WriteByte('=')
		b.WriteString(value)
		b.WriteByte('\n')
	}
	field("authority_id", s.AuthorityID)
	field("authority_fingerprint_hex", s.AuthorityFingerprintHex)
	field("unix_time_ms", strconv.FormatInt(s.UnixTimeMs, 10))
	field("stratum", strconv.FormatUint(uint64(s.Stratum), 10))
	field("round_trip_ms", strconv.FormatInt(s.RoundTripMs, 10))
	field("dispersion_ms", strconv.FormatInt(s.DispersionMs, 10))
	field("estimated_offset_ms", strconv.FormatInt(s.EstimatedOffsetMs, 10))
	return []byte(b.String())
}

// validID reports whether id is a non-empty printable token without '=' or
// line breaks, so the canonical encoding stays unambiguous.
func validID(id string) bool {
	if id == "" || len(id) > maxIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if c <= ' ' || c >= 0x7f || c == '=' {
			return false
		}
	}
	return true
}

// Fingerprint returns the lowercase hex SHA-256 of pub in SPKI DER form.
func Fingerprint(pub ed25519.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		// Only a malformed key length gets here; hash the raw bytes so the
		// fingerprint can never match a pin.
		sum := sha256.Sum256(append([]byte("invalid-key:"), pub...))
		return hex.EncodeToString(sum[:])
	}
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

// Sign fills in the fingerprint and signature of s with the authority key.
func Sign(s Snapshot, key ed25519.PrivateKey) (Snapshot, error) {
	if !validID(s.AuthorityID) {
		return Snapshot{}, fmt.Errorf("%w: authority id must be 1-%d printable characters without '='", ErrMalformed, maxIDLen)
	}
	s.AuthorityFingerprintHex = Fingerprint(key.Public().(ed25519.PublicKey))
	s.SignatureB64 = base64.StdEncoding.EncodeToString(ed25519.Sign(key, s.SignedBytes()))
	return s, nil
}

// Verify checks that s is well formed, names the fingerprint of pub and
// carries a valid Ed25519 signature by pub. It does not judge freshness.
func Verify(s *Snapshot, pub ed25519.PublicKey) error {
	if len(pub) != ed25519.PublicKeySize {
		return fmt.Errorf("%w: authority key must be %d bytes", ErrUntrusted, ed25519.PublicKeySize)
	}
	if !validID(s.AuthorityID) || s.UnixTimeMs <= 0 {
		return fmt.Errorf("%w: authority id or time invalid", ErrMalformed)
	}
	if s.AuthorityFingerprintHex != Fingerprint(pub) {
		return fmt.Errorf("%w: snapshot fingerprint %.16s… is not the pinned authority", ErrUntrusted, s.AuthorityFingerprintHex)
	}
	sig, err := base64.StdEncoding.DecodeString(s.SignatureB64)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return fmt.Errorf("%w: signature is not %d bytes of base64", ErrMalformed, ed25519.SignatureSize)
	}
	if !ed25519.Verify(pub, s.SignedBytes(), sig) {
		return fmt.Errorf("%w: signature does not verify", ErrUntrusted)
	}
	return nil
}
