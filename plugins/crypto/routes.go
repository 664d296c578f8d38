package main

import (
	"net/http"

	"github.com/aunsorm/aunsorm/sdk/route"
)

// Errors every JSON route of the plugin may answer, beside invalid_request.
const (
	unsupportedAlgorithmDoc = "The algorithm is not one this endpoint offers; the description lists those it does."
	invalidKeyDoc           = "A key is not of the size, encoding or kind the algorithm needs."
)

// table is the whole API of the plugin, one line per endpoint. Binary
// fields are base64url without padding.
func (s *server) table() *route.Table {
	post := func(rt route.Route, summary string) route.Route {
		return rt.Doc(summary, "").
			Fails(http.StatusBadRequest, codeUnsupportedAlgorithm, unsupportedAlgorithmDoc).
			Fails(http.StatusRequestEntityTooLarge, "request_too_large", "The body exceeds max_body_bytes.").
			Fails(http.StatusUnsupportedMediaType, "unsupported_media_type", "The body is not application/json.")
	}
	return &route.Table{
		Title:   "Aunsorm crypto plugin",
		Version: version,
		Description: "Stateless AEAD, signatures, HMAC, hashes, HKDF and randomness. Every key arrives " +
			"in the request and is wiped once used; every random byte comes from the platform DRBG.",
		Prefix:  "/crypto",
		MaxBody: s.maxBody,
		Routes: []route.Route{
			post(route.JSON(http.MethodPost, "/crypto/encrypt", s.encrypt), "Seal a plaintext with an AEAD").
				Fails(http.StatusBadRequest, codeInvalidKey, invalidKeyDoc),
			post(route.JSON(http.MethodPost, "/crypto/decrypt", s.decrypt), "Open an AEAD ciphertext").
				Fails(http.StatusBadRequest, codeInvalidKey, invalidKeyDoc).
				Fails(http.StatusBadRequest, codeDecryptionFailed, "The ciphertext, nonce, aad and key do not authenticate; the description never says which."),
			post(route.JSON(http.MethodPost, "/crypto/keypair", s.keypair), "Generate a signature key pair (PKCS#8 and SubjectPublicKeyInfo DER)"),
			post(route.JSON(http.MethodPost, "/crypto/sign", s.sign), "Sign a message").
				Fails(http.StatusBadRequest, codeInvalidKey, invalidKeyDoc),
			post(route.JSON(http.MethodPost, "/crypto/verify", s.verify), "Verify a signature").
				Fails(http.StatusBadRequest, codeInvalidKey, invalidKeyDoc),
			post(route.JSON(http.MethodPost, "/crypto/hmac", s.hmac), "Compute an HMAC, or check one in constant time when mac is given").
				Fails(http.StatusBadRequest, codeInvalidKey, invalidKeyDoc),
			post(route.JSON(http.MethodPost, "/crypto/hash", s.hash), "Hash data"),
			post(route.JSON(http.MethodPost, "/crypto/derive-key", s.deriveKey), "Derive a key with HKDF").
				Fails(http.StatusBadRequest, codeInvalidKey, invalidKeyDoc),
			route.JSON(http.MethodGet, "/crypto/random", s.randomBytes).Doc("Random bytes from the platform DRBG", ""),
			route.JSON(http.MethodGet, "/random/number", s.randomNumber).Doc("A uniform random integer in [min, max]", ""),
		},
	}
}

// capabilities lists what the plugin implements, as "group:algorithm", for
// the Describe call. It is built from the same tables the handlers use.
func capabilities() []string {
	var caps []string
	for _, a := range aeadAlgorithms() {
		caps = append(caps, "aead:"+a.name)
	}
	for _, a := range signAlgorithms() {
		caps = append(caps, "sign:"+a.name)
	}
	for _, a := range macAlgorithms() {
		caps = append(caps, "mac:"+a.name)
	}
	for _, a := range hashAlgorithms() {
		caps = append(caps, "hash:"+a.name)
	}
	for _, a := range kdfAlgorithms() {
		caps = append(caps, "kdf:"+a.name)
	}
	return append(caps, "random:bytes", "random:number")
}
