// Command aunsorm-plugin-pqc is the post-quantum plugin (default listener
// 127.0.0.1:50018): ML-KEM (FIPS 203), ML-DSA (FIPS 204), SLH-DSA
// (FIPS 205) and X-Wing over HTTP, with swappable ML-KEM implementations
// (cloudflare/circl or Go's crypto/mlkem). Every random byte comes from the
// platform DRBG.
package main

import (
	"context"
	"errors"
	"net/http"
	"os"

	"github.com/aunsorm/aunsorm/sdk/plugin"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0"

type pqcPlugin struct{}

// Describe implements plugin.Plugin. The capabilities listed here are the
// parameter sets this build can serve; /pqc/capabilities reports what the
// configured instance serves.
func (pqcPlugin) Describe() plugin.Descriptor {
	return plugin.Descriptor{Name: "aunsorm-pqc", Kind: "pqc", Version: version, Routes: []string{"/pqc/"}}
}

// Configure implements plugin.Plugin.
func (pqcPlugin) Configure(_ context.Context, env *plugin.Env) (http.Handler, error) {
	var cfg config
	if err := env.Config.Decode(&cfg); err != nil {
		return nil, err
	}
	cfg.applyDefaults()
	cfg.applyEnv(os.Getenv)
	if err := cfg.validate(); err != nil {
		attr := "implementation"
		var ae *configAttrError
		if errors.As(err, &ae) {
			attr = ae.attr
		}
		return nil, env.Config.Errorf(attr, "%v", err)
	}
	if env.ValidateOnly {
		return nil, nil
	}
	s, err := newServer(cfg, env.Rand)
	if err != nil {
		return nil, err
	}
	env.Logger.Info().Bool("strict", cfg.Strict).Str("implementation", s.implementationName()).
		Strs("algorithms", s.capabilities()).Msg("pqc configured")
	return s.Handler(), nil
}

func main() { plugin.Serve(pqcPlugin{}) }
