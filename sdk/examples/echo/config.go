package main

import (
	"unicode"

	"github.com/aunsorm/aunsorm/sdk/plugin"
)

// defaultGreeting is used when the config block does not set one.
const defaultGreeting = "hello"

// maxGreetingLen bounds the greeting, in bytes.
const maxGreetingLen = 64

// config is the plugin's `config { ... }` block:
//
//	config {
//	  greeting = "hello"
//	}
type config struct {
	// Greeting is returned with every echo.
	Greeting string `hcl:"greeting,optional"`
}

// loadConfig decodes and validates the block. Unknown attributes and wrong
// types are reported by Decode; semantic checks use c.Errorf, which points
// at the offending attribute.
func loadConfig(c *plugin.Config) (config, error) {
	cfg := config{Greeting: defaultGreeting} // Decode leaves absent attributes alone
	if err := c.Decode(&cfg); err != nil {
		return config{}, err
	}
	switch {
	case cfg.Greeting == "":
		return config{}, c.Errorf("greeting", "must not be empty")
	case len(cfg.Greeting) > maxGreetingLen:
		return config{}, c.Errorf("greeting", "must be at most %d bytes", maxGreetingLen)
	case !printable(cfg.Greeting):
		return config{}, c.Errorf("greeting", "must be printable text on one line")
	}
	return cfg, nil
}

// printable reports whether s has only printable characters.
func printable(s string) bool {
	for _, r := range s {
		if r == unicode.ReplacementChar || !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}
