package main

import (
	"crypto/aes"
	"crypto/cipher"
	"fmt"
	"net/http"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/aunsorm/aunsorm/sdk/apierror"
)

// aeadAlgorithm describes one AEAD the API offers.
type aeadAlgorithm struct {
	name      string
	keySize   int
	nonceSize int
	new       func(key []byte) (cipher.AEAD, error)
}

// aeadTagSize is the tag length of every offered AEAD, in bytes.
const aeadTagSize = 16

// aeadAlgorithms lists the AEADs: AES-256-GCM (NIST SP 800-38D, 96-bit
// nonce), ChaCha20-Poly1305 (RFC 8439) and XChaCha20-Poly1305
// (draft-irtf-cfrg-xchacha). XChaCha20-Poly1305 is the one to pick when
// nonces are random: its 192-bit nonce makes collisions negligible, where
// random 96-bit nonces limit one key to about 2^32 messages.
func aeadAlgorithms() []aeadAlgorithm {
	return []aeadAlgorithm{
		{"AES-256-GCM", 32, 12, newAESGCM},
		{"ChaCha20-Poly1305", chacha20poly1305.KeySize, chacha20poly1305.NonceSize, chacha20poly1305.New},
		{"XChaCha20-Poly1305", chacha20poly1305.KeySize, chacha20poly1305.NonceSizeX, chacha20poly1305.NewX},
	}
}

func newAESGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// findAEAD looks an AEAD up by its exact name.
func findAEAD(name string) (aeadAlgorithm, error) { return lookup(aeadAlgorithms(), name) }

func (a aeadAlgorithm) algName() string { return a.name }

// encryptRequest is the body of POST /crypto/encrypt.
type encryptRequest struct {
	Algorithm string  `json:"algorithm"`
	Key       *string `json:"key" api:"base64url"`
	Plaintext *string `json:"plaintext" api:"base64url"`
	AAD       *string `json:"aad" api:"base64url"`
	Nonce     *string `json:"nonce" api:"base64url"`
}

// encryptResponse is the answer of POST /crypto/encrypt.
type encryptResponse struct {
	Algorithm  string `json:"algorithm"`
	Nonce      string `json:"nonce" api:"base64url"`
	Ciphertext string `json:"ciphertext" api:"base64url"`
}

// decryptRequest is the body of POST /crypto/decrypt.
type decryptRequest struct {
	Algorithm  string  `json:"algorithm"`
	Key        *string `json:"key" api:"base64url"`
	Nonce      *string `json:"nonce" api:"base64url"`
	Ciphertext *string `json:"ciphertext" api:"base64url"`
	AAD        *string `json:"aad" api:"base64url"`
}

// decryptResponse is the answer of POST /crypto/decrypt.
type decryptResponse struct {
	Plaintext string `json:"plaintext" api:"base64url"`
}

// aeadFor decodes and checks the key, then builds the AEAD. The key bytes
// are wiped before returning; the AEAD keeps its own schedule.
func aeadFor(alg aeadAlgorithm, key *string) (cipher.AEAD, error) {
	k, err := decodeField("key", key, true)
	if err != nil {
		return nil, err
	}
	defer wipe(k)
	if len(k) != alg.keySize {
		return nil, apierror.BadRequest("field \"key\" must be %d bytes for %s, got %d", alg.keySize, alg.name, len(k))
	}
	a, err := alg.new(k)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", errPrimitive, alg.name, err)
	}
	return a, nil
}

// checkNonce checks a caller's nonce length.
func checkNonce(alg aeadAlgorithm, nonce []byte) error {
	if len(nonce) != alg.nonceSize {
		return apierror.BadRequest("field \"nonce\" must be %d bytes for %s, got %d", alg.nonceSize, alg.name, len(nonce))
	}
	return nil
}

// encrypt seals the plaintext. Without a caller nonce a fresh one is drawn
// from the platform DRBG.
func (s *server) encrypt(_ *http.Request, req *encryptRequest) (*encryptResponse, error) {
	alg, err := findAEAD(req.Algorithm)
	if err != nil {
		return nil, err
	}
	plaintext, err := decodeField("plaintext", req.Plaintext, true)
	if err != nil {
		return nil, err
	}
	aad, err := decodeField("aad", req.AAD, false)
	if err != nil {
		return nil, err
	}
	nonce, err := decodeField("nonce", req.Nonce, false)
	if err != nil {
		return nil, err
	}
	if req.Nonce != nil {
		if err := checkNonce(alg, nonce); err != nil {
			return nil, err
		}
	}
	aead, err := aeadFor(alg, req.Key)
	if err != nil {
		return nil, err
	}
	if req.Nonce == nil {
		nonce = make([]byte, alg.nonceSize)
		if err := s.readRandom(nonce); err != nil {
			return nil, err
		}
	}
	ct := aead.Seal(nil, nonce, plaintext, aad)
	return &encryptResponse{Algorithm: alg.name, Nonce: encode(nonce), Ciphertext: encode(ct)}, nil
}

// decrypt opens the ciphertext. Every authentication failure gets the same
// answer, whatever input was wrong.
func (s *server) decrypt(_ *http.Request, req *decryptRequest) (*decryptResponse, error) {
	alg, err := findAEAD(req.Algorithm)
	if err != nil {
		return nil, err
	}
	nonce, err := decodeField("nonce", req.Nonce, true)
	if err != nil {
		return nil, err
	}
	if err := checkNonce(alg, nonce); err != nil {
		return nil, err
	}
	ct, err := decodeField("ciphertext", req.Ciphertext, true)
	if err != nil {
		return nil, err
	}
	if len(ct) < aeadTagSize {
		return nil, apierror.BadRequest("field \"ciphertext\" must be at least %d bytes (the tag), got %d", aeadTagSize, len(ct))
	}
	aad, err := decodeField("aad", req.AAD, false)
	if err != nil {
		return nil, err
	}
	aead, err := aeadFor(alg, req.Key)
	if err != nil {
		return nil, err
	}
	pt, err := aead.Open(nil, nonce, ct, aad)
	if err != nil {
		return nil, errDecryptionFailed()
	}
	defer wipe(pt)
	return &decryptResponse{Plaintext: encode(pt)}, nil
}
