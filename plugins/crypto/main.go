// Go 1.26 ignores a caller's reader in ecdsa/rsa key generation unless this
// is set; every key here must come from the platform DRBG.
//go:debug cryptocustomrand=1

// Command aunsorm-plugin-crypto is the crypto plugin (default listener
// 127.0.0.1:50012): stateless AEAD, signatures, HMAC, hashes, HKDF and
// randomness over HTTP, every random byte from the platform DRBG.
package main

import (
	"context"
	"net/http"

	"github.com/aunsorm/aunsorm/sdk/plugin"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0"

type cryptoPlugin struct{}

// Describe implements plugin.Plugin.
func (cryptoPlugin) Describe() plugin.Descriptor {
	return plugin.Descriptor{
		Name: "aunsorm-crypto", Kind: "crypto", Version: version,
		Routes:       []string{"/crypto/", "/random/"},
		Capabilities: capabilities(),
	}
}

// Configure implements plugin.Plugin.
func (cryptoPlugin) Configure(_ context.Context, env *plugin.Env) (http.Handler, error) {
	var cfg config
	if err := env.Config.Decode(&cfg); err != nil {
		return nil, err
	}
	if err := cfg.validate(); err != nil {
		return nil, env.Config.Errorf("max_body_bytes", "%v", err)
	}
	if env.ValidateOnly {
		return nil, nil
	}
	s := newServer(env.Rand)
	s.applyConfig(cfg)
	return s.Handler(), nil
}

func main() { plugin.Serve(cryptoPlugin{}) }
