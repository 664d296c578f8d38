package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha3"
	"crypto/sha512"
	"hash"
	"net/http"
)

// hashAlgorithm describes a hash function offered on its own or under HMAC
// or HKDF.
type hashAlgorithm struct {
	name string
	new  func() hash.Hash
}

func (a hashAlgorithm) algName() string { return a.name }

// named is an entry of an algorithm table.
type named interface{ algName() string }

// lookup finds an algorithm of a table by its exact name; an unknown name
// gets an error listing the table's names in order.
func lookup[T named](all []T, name string) (T, error) {
	var zero T
	if err := requireAlgorithm(name); err != nil {
		return zero, err
	}
	for _, a := range all {
		if a.algName() == name {
			return a, nil
		}
	}
	names := make([]string, len(all))
	for i, a := range all {
		names[i] = a.algName()
	}
	return zero, errUnsupportedAlgorithm(name, names)
}

// hashAlgorithms lists the digests: SHA-2 (FIPS 180-4) and SHA-3 (FIPS 202).
// SHA-256 is the default to pick.
func hashAlgorithms() []hashAlgorithm {
	return []hashAlgorithm{
		{"SHA-256", sha256.New},
		{"SHA-384", sha512.New384},
		{"SHA-512", sha512.New},
		{"SHA3-256", func() hash.Hash { return sha3.New256() }},
		{"SHA3-512", func() hash.Hash { return sha3.New512() }},
	}
}

// macAlgorithms lists the MACs: HMAC (RFC 2104, FIPS 198-1) over SHA-2.
// HMAC-SHA256 is the default to pick.
func macAlgorithms() []hashAlgorithm {
	return []hashAlgorithm{
		{"HMAC-SHA256", sha256.New},
		{"HMAC-SHA384", sha512.New384},
		{"HMAC-SHA512", sha512.New},
	}
}

// hmacRequest is the body of POST /crypto/hmac. With mac set the call
// verifies instead of computing.
type hmacRequest struct {
	Algorithm string  `json:"algorithm"`
	Key       *string `json:"key" api:"base64url"`
	Message   *string `json:"message" api:"base64url"`
	MAC       *string `json:"mac" api:"base64url"`
}

// hmacResponse is the answer of POST /crypto/hmac when computing.
type hmacResponse struct {
	MAC string `json:"mac" api:"base64url"`
}

// hmacVerifyResponse is the answer of POST /crypto/hmac when verifying.
type hmacVerifyResponse struct {
	Valid bool `json:"valid"`
}

// hmacAnswer is the answer of POST /crypto/hmac: one of the two.
type hmacAnswer struct {
	*hmacResponse
	*hmacVerifyResponse
}

// hashRequest is the body of POST /crypto/hash.
type hashRequest struct {
	Algorithm string  `json:"algorithm"`
	Data      *string `json:"data" api:"base64url"`
}

// hashResponse is the answer of POST /crypto/hash.
type hashResponse struct {
	Digest string `json:"digest" api:"base64url"`
}

// hmac computes a MAC or, when the request carries one, checks it in
// constant time. Only full-length tags verify: a truncated tag is not valid.
func (s *server) hmac(_ *http.Request, req *hmacRequest) (*hmacAnswer, error) {
	alg, err := lookup(macAlgorithms(), req.Algorithm)
	if err != nil {
		return nil, err
	}
	msg, err := decodeField("message", req.Message, true)
	if err != nil {
		return nil, err
	}
	want, err := decodeField("mac", req.MAC, false)
	if err != nil {
		return nil, err
	}
	key, err := decodeField("key", req.Key, true)
	if err != nil {
		return nil, err
	}
	defer wipe(key)
	if len(key) == 0 {
		return nil, errInvalidKey("key", "must not be empty")
	}
	m := hmac.New(alg.new, key)
	m.Write(msg)
	sum := m.Sum(nil)
	if req.MAC != nil {
		return &hmacAnswer{hmacVerifyResponse: &hmacVerifyResponse{Valid: hmac.Equal(sum, want)}}, nil
	}
	return &hmacAnswer{hmacResponse: &hmacResponse{MAC: encode(sum)}}, nil
}

// hash computes a digest.
func (s *server) hash(_ *http.Request, req *hashRequest) (*hashResponse, error) {
	alg, err := lookup(hashAlgorithms(), req.Algorithm)
	if err != nil {
		return nil, err
	}
	data, err := decodeField("data", req.Data, true)
	if err != nil {
		return nil, err
	}
	h := alg.new()
	h.Write(data)
	return &hashResponse{Digest: encode(h.Sum(nil))}, nil
}
