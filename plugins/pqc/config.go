package main

import (
	"fmt"
	"runtime"
	"strings"

	"github.com/aunsorm/aunsorm/sdk/apierror"
)

// Implementation names accepted by the HCL attribute "implementation".
const (
	implCircl = "circl"
	implGo    = "go"
)

// Limits enforced by validate.
const (
	maxSLHConcurrency = 1024
	maxSLHQueueDepth  = 65536
	minBodyBytes      = 1 << 10
	maxBodyBytesLimit = 64 << 20
	// defaultBodyBytes fits the largest request: an SLH-DSA-*-256f verify
	// (49,856-byte signature, base64url) with a message of several hundred KiB.
	defaultBodyBytes = apierror.DefaultMaxBody
)

// envStrict is the environment variable that forces strict mode on.
const envStrict = "AUNSORM_STRICT"

// config is the plugin's HCL configuration block:
//
//	plugin "pqc" {
//	  config {
//	    strict                  = true
//	    implementation          = "circl"   # or "go"
//	    slh_dsa_max_concurrency = 1
//	    slh_dsa_queue_depth     = 4
//	    max_body_bytes          = 1048576
//	  }
//	}
//
// Zero values mean "use the default" (see applyDefaults).
type config struct {
	// Strict restricts the service to final NIST parameter sets, refuses
	// pre-standard algorithms and ML-KEM-512, and makes a failed start-up
	// self-test fatal. AUNSORM_STRICT=1 forces it on.
	Strict bool `hcl:"strict,optional"`
	// Implementation selects the ML-KEM implementation: "circl" (default)
	// or "go" (the standard library's crypto/mlkem).
	Implementation string `hcl:"implementation,optional"`
	// SLHDSAMaxConcurrency bounds how many slow ("s") SLH-DSA key
	// generations and signatures run at once.
	SLHDSAMaxConcurrency int `hcl:"slh_dsa_max_concurrency,optional"`
	// SLHDSAQueueDepth bounds how many more may wait for a slot; beyond it
	// requests get 503 busy with a Retry-After.
	SLHDSAQueueDepth int `hcl:"slh_dsa_queue_depth,optional"`
	// MaxBodyBytes bounds a request body.
	MaxBodyBytes int64 `hcl:"max_body_bytes,optional"`
}

// applyDefaults fills every unset field.
func (c *config) applyDefaults() {
	c.Implementation = strings.ToLower(strings.TrimSpace(c.Implementation))
	if c.Implementation == "" {
		c.Implementation = implCircl
	}
	if c.SLHDSAMaxConcurrency == 0 {
		// Half the CPUs: a burst of slow signatures leaves the other half to
		// every other request.
		c.SLHDSAMaxConcurrency = max(1, runtime.NumCPU()/2)
	}
	if c.SLHDSAQueueDepth == 0 {
		c.SLHDSAQueueDepth = 4 * c.SLHDSAMaxConcurrency
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = defaultBodyBytes
	}
}

// applyEnv applies the environment: AUNSORM_STRICT=1 (or "true") forces strict
// mode on; it never turns strict mode off. getenv is os.Getenv in production.
func (c *config) applyEnv(getenv func(string) string) {
	if strictFromEnv(getenv) {
		c.Strict = true
	}
}

// strictFromEnv reports whether the environment forces strict mode.
func strictFromEnv(getenv func(string) string) bool {
	if getenv == nil {
		return false
	}
	v := strings.ToLower(strings.TrimSpace(getenv(envStrict)))
	return v == "1" || v == "true"
}

// validate checks a config after applyDefaults.
func (c *config) validate() error {
	switch c.Implementation {
	case implCircl, implGo:
	default:
		return attrError("implementation", "implementation %q is not one of %q, %q", c.Implementation, implCircl, implGo)
	}
	if c.SLHDSAMaxConcurrency < 1 || c.SLHDSAMaxConcurrency > maxSLHConcurrency {
		return attrError("slh_dsa_max_concurrency", "slh_dsa_max_concurrency must be between 1 and %d, got %d", maxSLHConcurrency, c.SLHDSAMaxConcurrency)
	}
	if c.SLHDSAQueueDepth < 0 || c.SLHDSAQueueDepth > maxSLHQueueDepth {
		return attrError("slh_dsa_queue_depth", "slh_dsa_queue_depth must be between 0 and %d, got %d", maxSLHQueueDepth, c.SLHDSAQueueDepth)
	}
	if c.MaxBodyBytes < minBodyBytes || c.MaxBodyBytes > maxBodyBytesLimit {
		return attrError("max_body_bytes", "max_body_bytes must be between %d and %d, got %d", minBodyBytes, maxBodyBytesLimit, c.MaxBodyBytes)
	}
	return nil
}

// configAttrError is a configuration error about one attribute of the
// plugin's block; it wraps errConfig.
type configAttrError struct {
	attr string
	msg  string
}

func (e *configAttrError) Error() string { return errConfig.Error() + ": " + e.msg }
func (e *configAttrError) Unwrap() error { return errConfig }

func attrError(attr, format string, args ...any) error {
	return &configAttrError{attr: attr, msg: fmt.Sprintf(format, args...)}
}
