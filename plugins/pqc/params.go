package main

import (
	"encoding/asn1"
	"fmt"
	"strings"

	"github.com/cloudflare/circl/kem"
	"github.com/cloudflare/circl/kem/kyber/kyber1024"
	"github.com/cloudflare/circl/kem/kyber/kyber512"
	"github.com/cloudflare/circl/kem/kyber/kyber768"
	"github.com/cloudflare/circl/kem/mlkem/mlkem1024"
	"github.com/cloudflare/circl/kem/mlkem/mlkem512"
	"github.com/cloudflare/circl/kem/mlkem/mlkem768"
	"github.com/cloudflare/circl/kem/xwing"
	"github.com/cloudflare/circl/sign"
	dilithium2 "github.com/cloudflare/circl/sign/dilithium/mode2"
	dilithium3 "github.com/cloudflare/circl/sign/dilithium/mode3"
	dilithium5 "github.com/cloudflare/circl/sign/dilithium/mode5"
	"github.com/cloudflare/circl/sign/mldsa/mldsa44"
	"github.com/cloudflare/circl/sign/mldsa/mldsa65"
	"github.com/cloudflare/circl/sign/mldsa/mldsa87"
	"github.com/cloudflare/circl/sign/slhdsa"
)

// Routes (the path segment after /pqc/) and the algorithm families they serve.
const (
	routeMLKEM  = "ml-kem"
	routeXWing  = "x-wing"
	routeMLDSA  = "ml-dsa"
	routeSLHDSA = "slh-dsa"
)

// Families, as reported in the capabilities document.
const (
	familyMLKEM     = "ML-KEM"
	familyXWing     = "X-Wing"
	familyMLDSA     = "ML-DSA"
	familySLHDSA    = "SLH-DSA"
	familyKyber     = "Kyber"
	familyDilithium = "Dilithium"
)

// algorithm is what every parameter set has in common.
type algorithm struct {
	name     string
	family   string
	route    string
	standard string
	// category is the NIST security category (FIPS 203 §8, FIPS 204 §4,
	// FIPS 205 §11).
	category int
	// oid is the IETF LAMPS object identifier; nil when there is none, in
	// which case only the raw encoding is offered.
	oid asn1.ObjectIdentifier
	// preStandard marks the round-3 CRYSTALS algorithms, refused in strict mode.
	preStandard bool
}

// kemAlg is a KEM parameter set.
type kemAlg struct {
	algorithm
	// mlkemBits is 512, 768 or 1024 for ML-KEM (it selects the crypto/mlkem
	// parameter set) and 0 for every other KEM.
	mlkemBits int
	// scheme is circl's implementation; it also defines the raw encodings.
	scheme kem.Scheme
}

// sigAlg is a signature parameter set.
type sigAlg struct {
	algorithm
	scheme sign.Scheme
	// mldsa holds the FIPS 204 internal functions for ML-DSA sets.
	mldsa *mldsaInternal
	// slh is the circl identifier for SLH-DSA sets.
	slh slhdsa.ID
	// slow marks the SLH-DSA "s" sets, whose key generation and signing go
	// through the bounded queue.
	slow bool
}

// isSLH reports whether a is an SLH-DSA parameter set.
func (a *sigAlg) isSLH() bool { return a.family == familySLHDSA }

// nist is the arc 2.16.840.1.101.3.4 (NIST algorithms) under which the
// LAMPS OIDs live.
func nistOID(arc, n int) asn1.ObjectIdentifier {
	return asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, arc, n}
}

// registry holds every parameter set this plugin knows, in display order.
type registry struct {
	kems []*kemAlg
	sigs []*sigAlg
}

// newRegistry builds the table of parameter sets. Sizes are never written
// here: they come from the implementations.
func newRegistry() *registry {
	const (
		fips203    = "FIPS 203"
		fips204    = "FIPS 204"
		fips205    = "FIPS 205"
		xwingDraft = "draft-connolly-cfrg-xwing-kem-05"
		round3     = "NIST PQC round 3 (pre-standard)"
	)
	r := &registry{}
	addKEM := func(name, family, route, std string, cat int, oid asn1.ObjectIdentifier, pre bool, bits int, s kem.Scheme) {
		r.kems = append(r.kems, &kemAlg{algorithm: algorithm{name, family, route, std, cat, oid, pre}, mlkemBits: bits, scheme: s})
	}
	addKEM("ML-KEM-512", familyMLKEM, routeMLKEM, fips203, 1, nistOID(4, 1), false, 512, mlkem512.Scheme())
	addKEM("ML-KEM-768", familyMLKEM, routeMLKEM, fips203, 3, nistOID(4, 2), false, 768, mlkem768.Scheme())
	addKEM("ML-KEM-1024", familyMLKEM, routeMLKEM, fips203, 5, nistOID(4, 3), false, 1024, mlkem1024.Scheme())
	// X-Wing's security rests on ML-KEM-768 (category 3) and X25519; its
	// draft OID is not a standard one, so only raw encodings are offered.
	addKEM("X-Wing", familyXWing, routeXWing, xwingDraft, 3, nil, false, 0, xwing.Scheme())
	addKEM("Kyber512", familyKyber, routeMLKEM, round3, 1, nil, true, 0, kyber512.Scheme())
	addKEM("Kyber768", familyKyber, routeMLKEM, round3, 3, nil, true, 0, kyber768.Scheme())
	addKEM("Kyber1024", familyKyber, routeMLKEM, round3, 5, nil, true, 0, kyber1024.Scheme())

	addSig := func(a *sigAlg) { r.sigs = append(r.sigs, a) }
	// ML-DSA-44 is category 2, ML-DSA-65 category 3, ML-DSA-87 category 5
	// (FIPS 204 Table 1).
	addSig(&sigAlg{algorithm: algorithm{"ML-DSA-44", familyMLDSA, routeMLDSA, fips204, 2, nistOID(3, 17), false}, scheme: mldsa44.Scheme(), mldsa: mldsa44Internal()})
	addSig(&sigAlg{algorithm: algorithm{"ML-DSA-65", familyMLDSA, routeMLDSA, fips204, 3, nistOID(3, 18), false}, scheme: mldsa65.Scheme(), mldsa: mldsa65Internal()})
	addSig(&sigAlg{algorithm: algorithm{"ML-DSA-87", familyMLDSA, routeMLDSA, fips204, 5, nistOID(3, 19), false}, scheme: mldsa87.Scheme(), mldsa: mldsa87Internal()})
	// SLH-DSA OIDs 2.16.840.1.101.3.4.3.20-31 (RFC 9909), in this order.
	slh := []struct {
		id  slhdsa.ID
		cat int
	}{
		{slhdsa.SHA2_128s, 1}, {slhdsa.SHA2_128f, 1}, {slhdsa.SHA2_192s, 3}, {slhdsa.SHA2_192f, 3},
		{slhdsa.SHA2_256s, 5}, {slhdsa.SHA2_256f, 5}, {slhdsa.SHAKE_128s, 1}, {slhdsa.SHAKE_128f, 1},
		{slhdsa.SHAKE_192s, 3}, {slhdsa.SHAKE_192f, 3}, {slhdsa.SHAKE_256s, 5}, {slhdsa.SHAKE_256f, 5},
	}
	for i, p := range slh {
		name := p.id.String()
		addSig(&sigAlg{
			algorithm: algorithm{name, familySLHDSA, routeSLHDSA, fips205, p.cat, nistOID(3, 20+i), false},
			scheme:    p.id.Scheme(),
			slh:       p.id,
			slow:      strings.HasSuffix(name, "s"),
		})
	}
	addSig(&sigAlg{algorithm: algorithm{"Dilithium2", familyDilithium, routeMLDSA, round3, 2, nil, true}, scheme: dilithium2.Scheme()})
	addSig(&sigAlg{algorithm: algorithm{"Dilithium3", familyDilithium, routeMLDSA, round3, 3, nil, true}, scheme: dilithium3.Scheme()})
	addSig(&sigAlg{algorithm: algorithm{"Dilithium5", familyDilithium, routeMLDSA, round3, 5, nil, true}, scheme: dilithium5.Scheme()})
	return r
}

// findKEM returns the KEM parameter set with the given name (case-insensitive).
func (r *registry) findKEM(name string) *kemAlg {
	for _, a := range r.kems {
		if strings.EqualFold(a.name, name) {
			return a
		}
	}
	return nil
}

// findSig returns the signature parameter set with the given name (case-insensitive).
func (r *registry) findSig(name string) *sigAlg {
	for _, a := range r.sigs {
		if strings.EqualFold(a.name, name) {
			return a
		}
	}
	return nil
}

// find returns the common part of any parameter set with the given name.
func (r *registry) find(name string) *algorithm {
	if k := r.findKEM(name); k != nil {
		return &k.algorithm
	}
	if s := r.findSig(name); s != nil {
		return &s.algorithm
	}
	return nil
}

// namesOnRoute lists the parameter sets a route serves, for error messages.
func (r *registry) namesOnRoute(route string, strict bool) string {
	var names []string
	for _, a := range r.kems {
		if a.route == route && (!strict || strictAllows(&a.algorithm)) {
			names = append(names, a.name)
		}
	}
	for _, a := range r.sigs {
		if a.route == route && (!strict || strictAllows(&a.algorithm)) {
			names = append(names, a.name)
		}
	}
	return strings.Join(names, ", ")
}

// strictAllows reports whether strict mode serves a parameter set: final NIST
// parameter sets only, and KEMs restricted to ML-KEM-768, ML-KEM-1024 and X-Wing.
func strictAllows(a *algorithm) bool {
	if a.preStandard {
		return false
	}
	return a.name != "ML-KEM-512"
}

// strictRefusal explains why strict mode refuses a parameter set.
func strictRefusal(a *algorithm) string {
	if a.preStandard {
		succ := map[string]string{familyKyber: "ML-KEM (FIPS 203)", familyDilithium: "ML-DSA (FIPS 204)"}[a.family]
		return fmt.Sprintf("%s is a pre-standard algorithm, refused in strict mode; use %s", a.name, succ)
	}
	return fmt.Sprintf("strict mode restricts KEMs to ML-KEM-768, ML-KEM-1024 and X-Wing; %s is refused", a.name)
}

// sphincsName reports whether name is a pre-standard SPHINCS+ name, which
// circl does not implement (its successor SLH-DSA is served instead).
func sphincsName(name string) bool {
	n := strings.ToLower(name)
	return strings.HasPrefix(n, "sphincs")
}
