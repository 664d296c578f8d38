package main

import (
	"crypto/mlkem"
	"net/http"
)

// capabilitiesDoc is the body of GET /pqc/capabilities.
type capabilitiesDoc struct {
	Plugin string `json:"plugin"`
	// Implementation is the configured ML-KEM implementation.
	Implementation implInfo `json:"implementation"`
	Strict         bool     `json:"strict"`
	// Encoding describes the binary fields of every request and response.
	Encoding    string          `json:"encoding"`
	SLHDSAQueue queueInfo       `json:"slh_dsa_queue"`
	Algorithms  []algCapability `json:"algorithms"`
}

// implInfo names an implementation and its version.
type implInfo struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// queueInfo describes the bounded queue of the slow SLH-DSA sets.
type queueInfo struct {
	MaxConcurrency int `json:"max_concurrency"`
	QueueDepth     int `json:"queue_depth"`
}

// algCapability describes one parameter set. Sizes are in bytes and are
// read from the implementation that serves the set.
type algCapability struct {
	Name              string `json:"name"`
	Family            string `json:"family"`
	Kind              string `json:"kind"` // "kem" or "signature"
	Standard          string `json:"standard"`
	PreStandard       bool   `json:"pre_standard,omitempty"`
	NISTCategory      int    `json:"nist_category"`
	OID               string `json:"oid,omitempty"`
	Available         bool   `json:"available"`
	UnavailableReason string `json:"unavailable_reason,omitempty"`
	Implementation    string `json:"implementation"`
	ImplVersion       string `json:"implementation_version"`
	PublicKeySize     int    `json:"public_key_size"`
	PrivateKeySize    int    `json:"private_key_size"`
	SeedSize          int    `json:"seed_size"`
	CiphertextSize    int    `json:"ciphertext_size,omitempty"`
	SharedSecretSize  int    `json:"shared_secret_size,omitempty"`
	SignatureSize     int    `json:"signature_size,omitempty"`
	// SeededKeygen: key generation is deterministic when a seed is given.
	SeededKeygen bool `json:"seeded_keygen"`
	// Encapsulation is "randomized" for every KEM (randomness from the DRBG).
	Encapsulation string `json:"encapsulation,omitempty"`
	// SigningModes lists "hedged" and/or "deterministic"; the first is the default.
	SigningModes    []string `json:"signing_modes,omitempty"`
	ContextMaxBytes *int     `json:"context_max_bytes,omitempty"`
	Interfaces      []string `json:"interfaces,omitempty"`
	PreHash         []string `json:"pre_hash,omitempty"`
	// Queued: key generation and signing go through the bounded slow queue.
	Queued  bool     `json:"queued,omitempty"`
	Formats []string `json:"formats"`
}

// handleCapabilities serves GET /pqc/capabilities.
func (s *server) handleCapabilities(_ *http.Request, _ *struct{}) (*capabilitiesDoc, error) {
	doc := s.capabilitiesDoc()
	return &doc, nil
}

// capabilitiesDoc builds the capabilities document.
func (s *server) capabilitiesDoc() capabilitiesDoc {
	doc := capabilitiesDoc{
		Plugin:         "pqc",
		Implementation: implInfo{Name: s.mlkem.name(), Version: s.mlkem.version()},
		Strict:         s.cfg.Strict,
		Encoding:       "base64url without padding (RFC 4648 §5)",
		SLHDSAQueue:    queueInfo{MaxConcurrency: s.cfg.SLHDSAMaxConcurrency, QueueDepth: s.cfg.SLHDSAQueueDepth},
	}
	for _, a := range s.reg.kems {
		c := s.common(&a.algorithm, "kem")
		c.PublicKeySize = a.scheme.PublicKeySize()
		c.PrivateKeySize = a.scheme.PrivateKeySize()
		c.SeedSize = a.scheme.SeedSize()
		c.CiphertextSize = a.scheme.CiphertextSize()
		c.SharedSecretSize = a.scheme.SharedKeySize()
		c.SeededKeygen = true
		c.Encapsulation = "randomized"
		if b := s.backendFor(a); b != nil {
			c.Implementation, c.ImplVersion = b.name(), b.version()
			if b.name() == implGo {
				c.PublicKeySize, c.CiphertextSize = goMLKEMSizes(a.mlkemBits)
				c.SeedSize, c.SharedSecretSize = mlkem.SeedSize, mlkem.SharedKeySize
			}
		}
		doc.Algorithms = append(doc.Algorithms, c)
	}
	for _, a := range s.reg.sigs {
		c := s.common(&a.algorithm, "signature")
		c.PublicKeySize = a.scheme.PublicKeySize()
		c.PrivateKeySize = a.scheme.PrivateKeySize()
		c.SeedSize = sigSeedSize(a)
		c.SignatureSize = a.scheme.SignatureSize()
		c.SeededKeygen = true
		c.SigningModes = []string{"hedged", "deterministic"}
		c.Interfaces = []string{interfacePure, interfaceInternal}
		ctxMax := maxContext
		switch {
		case a.family == familyDilithium:
			c.SigningModes = []string{"deterministic"}
			c.Interfaces = []string{interfacePure}
			ctxMax = 0
		case a.isSLH():
			c.PreHash = preHashNames()
			c.Queued = a.slow
		}
		c.ContextMaxBytes = &ctxMax
		doc.Algorithms = append(doc.Algorithms, c)
	}
	return doc
}

// common fills the fields every parameter set has.
func (s *server) common(a *algorithm, kind string) algCapability {
	c := algCapability{
		Name: a.name, Family: a.family, Kind: kind, Standard: a.standard, PreStandard: a.preStandard,
		NISTCategory: a.category, Available: true,
		Implementation: implCircl, ImplVersion: circlVersion(),
		Formats: []string{formatRaw},
	}
	if a.oid != nil {
		c.OID = a.oid.String()
		c.Formats = append(c.Formats, formatDER)
	}
	if s.cfg.Strict && !strictAllows(a) {
		c.Available, c.UnavailableReason = false, "refused in strict mode"
	} else if reason, bad := s.unavailable[a.name]; bad {
		c.Available, c.UnavailableReason = false, reason
	}
	return c
}

// goMLKEMSizes returns crypto/mlkem's encapsulation key and ciphertext sizes.
func goMLKEMSizes(bits int) (pub, ct int) {
	if bits == 1024 {
		return mlkem.EncapsulationKeySize1024, mlkem.CiphertextSize1024
	}
	return mlkem.EncapsulationKeySize768, mlkem.CiphertextSize768
}

// capabilities lists the parameter sets this server serves, for the
// plugin's Describe.
func (s *server) capabilities() []string {
	var names []string
	for _, c := range s.capabilitiesDoc().Algorithms {
		if c.Available {
			names = append(names, c.Name)
		}
	}
	return names
}
