package main

import (
	"crypto/hkdf"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"net/http"

	"github.com/aunsorm/aunsorm/sdk/apierror"
)

// kdfAlgorithms lists the key derivation functions: HKDF (RFC 5869) over
// SHA-256 and SHA-512. HKDF-SHA256 is the default to pick.
func kdfAlgorithms() []hashAlgorithm {
	return []hashAlgorithm{
		{"HKDF-SHA256", sha256.New},
		{"HKDF-SHA512", sha512.New},
	}
}

// hkdfMaxBlocks is the most output blocks HKDF-Expand produces (RFC 5869
// section 2.3).
const hkdfMaxBlocks = 255

// deriveKeyRequest is the body of POST /crypto/derive-key.
type deriveKeyRequest struct {
	Algorithm string  `json:"algorithm"`
	IKM       *string `json:"ikm" api:"base64url"`
	Salt      *string `json:"salt" api:"base64url"`
	Info      *string `json:"info" api:"base64url"`
	Length    *int    `json:"length"`
}

// deriveKeyResponse is the answer of POST /crypto/derive-key.
type deriveKeyResponse struct {
	Key string `json:"key" api:"base64url"`
}

// deriveKey runs HKDF extract-then-expand. A missing salt is HKDF's
// default: a string of zero bytes as long as the hash.
func (s *server) deriveKey(_ *http.Request, req *deriveKeyRequest) (*deriveKeyResponse, error) {
	alg, err := lookup(kdfAlgorithms(), req.Algorithm)
	if err != nil {
		return nil, err
	}
	if req.Length == nil {
		return nil, errRequired("length")
	}
	maxLen := hkdfMaxBlocks * alg.new().Size()
	if *req.Length < 1 || *req.Length > maxLen {
		return nil, apierror.BadRequest("field \"length\" must be between 1 and %d for %s, got %d", maxLen, alg.name, *req.Length)
	}
	salt, err := decodeField("salt", req.Salt, false)
	if err != nil {
		return nil, err
	}
	info, err := decodeField("info", req.Info, false)
	if err != nil {
		return nil, err
	}
	ikm, err := decodeField("ikm", req.IKM, true)
	if err != nil {
		return nil, err
	}
	defer wipe(ikm)
	if len(ikm) == 0 {
		return nil, errInvalidKey("ikm", "must not be empty")
	}
	key, err := hkdf.Key(alg.new, ikm, salt, string(info), *req.Length)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", errPrimitive, alg.name, err)
	}
	defer wipe(key)
	return &deriveKeyResponse{Key: encode(key)}, nil
}
