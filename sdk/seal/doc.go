// Package seal is a plugin's sealer: it encrypts secrets a plugin keeps at
// rest (private keys, client secrets, refresh tokens) under keys only that
// plugin instance holds.
//
// The daemon keeps a root sealing key ring and never hands it to a plugin.
// On Configure each plugin receives keys derived from it for its own
// instance name (HKDF-SHA-256, RFC 5869, with the instance name and the
// purpose as info), one per root key version; the SDK builds a Sealer from
// them and puts it on plugin.Env. A value sealed by one plugin instance does
// not open in another, and a value moved to another row does not open
// either: the caller binds each value to where it belongs with the
// additional authenticated data (AAD), e.g. "table/column/primary key".
//
// Construction: AES-256-GCM (NIST SP 800-38D) with a fresh 96-bit nonce from
// the plugin's DRBG for every Seal. A sealed value is
//
//	format (1 byte, 0x01) | key version (4 bytes, big endian) | nonce (12) | ciphertext | tag (16)
//
// and the 5-byte header is authenticated with the caller's AAD (header ‖ aad,
// the header having a fixed length), so a value cannot be relabelled with
// another version. Random 96-bit nonces keep the probability of a repeated
// nonce under 2^-32 for up to 2^32 seals per key version (SP 800-38D §8.3);
// rotate the root key long before a plugin seals that many values.
//
// Rotation: when the operator adds a root key version, a plugin picks it up
// on its next Configure (hot swap or restart). Seal always uses the newest
// version; Open accepts every version the sealer holds and reports a value
// sealed under an older one as stale, so the caller re-seals it when it next
// writes the row. Sealer.ResealAll re-seals the rest in batches.
//
// The default a plugin author should pick is the Sealer on plugin.Env:
// never construct one from raw key bytes outside tests.
package seal
