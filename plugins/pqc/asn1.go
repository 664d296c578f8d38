package main

import (
	"encoding/asn1"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
	casn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// DER encodings of keys where an IETF LAMPS OID exists:
//
//   - SubjectPublicKeyInfo (RFC 5280): AlgorithmIdentifier with the OID and
//     absent parameters; the BIT STRING holds the raw public key (ML-KEM:
//     RFC 9935, ML-DSA: RFC 9881, SLH-DSA: RFC 9909).
//   - OneAsymmetricKey / PKCS#8 (RFC 5958): the privateKey OCTET STRING holds
//     for ML-KEM and ML-DSA the DER of the CHOICE
//     { seed [0] IMPLICIT OCTET STRING, expandedKey OCTET STRING,
//     both SEQUENCE { seed, expandedKey } }, and for SLH-DSA the raw
//     SK.seed‖SK.prf‖PK.seed‖PK.root without further wrapping.
//
// The plugin writes the "seed" choice (the form the LAMPS documents
// recommend) and reads all three; "both" must be consistent. circl's pki
// package covers ML-DSA only and refuses expanded-only keys, so this file
// does the encoding for every family itself (asn1_test.go checks ML-DSA
// against circl's pki and every family against the LAMPS example keys).

// marshalSPKI encodes a SubjectPublicKeyInfo.
func marshalSPKI(oid asn1.ObjectIdentifier, pub []byte) []byte {
	var b cryptobyte.Builder
	b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(oid)
		})
		b.AddASN1BitString(pub)
	})
	return b.BytesOrPanic()
}

// parseSPKI decodes a SubjectPublicKeyInfo whose algorithm has no parameters.
func parseSPKI(der []byte) (asn1.ObjectIdentifier, []byte, error) {
	in := cryptobyte.String(der)
	var spki, alg cryptobyte.String
	var oid asn1.ObjectIdentifier
	var bits asn1.BitString
	if !in.ReadASN1(&spki, casn1.SEQUENCE) || !in.Empty() ||
		!spki.ReadASN1(&alg, casn1.SEQUENCE) ||
		!alg.ReadASN1ObjectIdentifier(&oid) || !alg.Empty() ||
		!spki.ReadASN1BitString(&bits) || !spki.Empty() {
		return nil, nil, fmt.Errorf("%w: SubjectPublicKeyInfo", errASN1)
	}
	if bits.BitLength%8 != 0 {
		return nil, nil, fmt.Errorf("%w: public key BIT STRING has unused bits", errASN1)
	}
	return oid, bits.Bytes, nil
}

// marshalPKCS8 encodes a version 0 OneAsymmetricKey around privateKey, the
// content of the privateKey OCTET STRING.
func marshalPKCS8(oid asn1.ObjectIdentifier, privateKey []byte) []byte {
	var b cryptobyte.Builder
	b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Int64(0)
		b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(oid)
		})
		b.AddASN1OctetString(privateKey)
	})
	return b.BytesOrPanic()
}

// pkcs8Key is a decoded OneAsymmetricKey.
type pkcs8Key struct {
	oid        asn1.ObjectIdentifier
	privateKey []byte // content of the privateKey OCTET STRING
	publicKey  []byte // optional [1] publicKey (version 1), nil when absent
}

// parsePKCS8 decodes a OneAsymmetricKey (version 0 or 1), skipping the
// optional attributes and returning the optional public key.
func parsePKCS8(der []byte) (*pkcs8Key, error) {
	in := cryptobyte.String(der)
	var seq, alg cryptobyte.String
	var version int64
	k := &pkcs8Key{}
	if !in.ReadASN1(&seq, casn1.SEQUENCE) || !in.Empty() ||
		!seq.ReadASN1Int64WithTag(&version, casn1.INTEGER) ||
		!seq.ReadASN1(&alg, casn1.SEQUENCE) ||
		!alg.ReadASN1ObjectIdentifier(&k.oid) || !alg.Empty() {
		return nil, fmt.Errorf("%w: OneAsymmetricKey", errASN1)
	}
	if version != 0 && version != 1 {
		return nil, fmt.Errorf("%w: OneAsymmetricKey version %d", errASN1, version)
	}
	var priv cryptobyte.String
	if !seq.ReadASN1(&priv, casn1.OCTET_STRING) {
		return nil, fmt.Errorf("%w: privateKey", errASN1)
	}
	k.privateKey = priv
	if !seq.SkipOptionalASN1(casn1.Tag(0).Constructed().ContextSpecific()) {
		return nil, fmt.Errorf("%w: attributes", errASN1)
	}
	pubTag := casn1.Tag(1).ContextSpecific()
	if seq.PeekASN1Tag(pubTag) {
		var pub cryptobyte.String
		if version != 1 || !seq.ReadASN1(&pub, pubTag) || len(pub) == 0 || pub[0] != 0 {
			return nil, fmt.Errorf("%w: publicKey", errASN1)
		}
		k.publicKey = pub[1:]
	}
	if !seq.Empty() {
		return nil, fmt.Errorf("%w: trailing data in OneAsymmetricKey", errASN1)
	}
	return k, nil
}

// marshalSeedChoice encodes the "seed" choice of an ML-KEM or ML-DSA private key.
func marshalSeedChoice(seed []byte) []byte {
	var b cryptobyte.Builder
	b.AddASN1(casn1.Tag(0).ContextSpecific(), func(b *cryptobyte.Builder) {
		b.AddBytes(seed)
	})
	return b.BytesOrPanic()
}

// parseKeyChoice decodes the ML-KEM / ML-DSA private key CHOICE. Either
// result may be nil (seed-only or expanded-only); "both" returns both.
func parseKeyChoice(der []byte) (seed, expanded []byte, err error) {
	in := cryptobyte.String(der)
	switch {
	case in.PeekASN1Tag(casn1.Tag(0).ContextSpecific()):
		var s cryptobyte.String
		if !in.ReadASN1(&s, casn1.Tag(0).ContextSpecific()) || !in.Empty() {
			return nil, nil, fmt.Errorf("%w: seed", errASN1)
		}
		return s, nil, nil
	case in.PeekASN1Tag(casn1.OCTET_STRING):
		var e cryptobyte.String
		if !in.ReadASN1(&e, casn1.OCTET_STRING) || !in.Empty() {
			return nil, nil, fmt.Errorf("%w: expandedKey", errASN1)
		}
		return nil, e, nil
	case in.PeekASN1Tag(casn1.SEQUENCE):
		var both, s, e cryptobyte.String
		if !in.ReadASN1(&both, casn1.SEQUENCE) || !in.Empty() ||
			!both.ReadASN1(&s, casn1.OCTET_STRING) ||
			!both.ReadASN1(&e, casn1.OCTET_STRING) || !both.Empty() {
			return nil, nil, fmt.Errorf("%w: both", errASN1)
		}
		return s, e, nil
	}
	return nil, nil, fmt.Errorf("%w: private key CHOICE", errASN1)
}
