package main

import "fmt"

// Body size bounds for config.MaxBodyBytes.
const (
	defaultMaxBodyBytes int64 = 64 << 10
	minMaxBodyBytes     int64 = 1 << 10
	maxMaxBodyBytes     int64 = 16 << 20
)

// config is the plugin's HCL block. Every attribute is optional:
//
//	plugin "crypto" {
//	  command        = "bin/aunsorm-plugin-crypto"
//	  listen         = "127.0.0.1:50012"
//	  max_body_bytes = 65536
//	}
type config struct {
	// MaxBodyBytes caps every JSON request body; larger bodies get 413.
	// Zero means the default, 64 KiB.
	MaxBodyBytes int64 `hcl:"max_body_bytes,optional"`
}

// validate fills defaults and checks bounds.
func (c *config) validate() error {
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = defaultMaxBodyBytes
	}
	if c.MaxBodyBytes < minMaxBodyBytes || c.MaxBodyBytes > maxMaxBodyBytes {
		return fmt.Errorf("%w: max_body_bytes must be between %d and %d, got %d",
			errConfig, minMaxBodyBytes, maxMaxBodyBytes, c.MaxBodyBytes)
	}
	return nil
}
