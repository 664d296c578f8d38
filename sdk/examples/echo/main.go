// Command aunsorm-plugin-echo is the smallest complete Aunsorm plugin: copy
// this folder to start a new one.
//
// It owns the route prefix /echo/. POST /echo/ returns the JSON body it was
// sent together with the configured greeting, a random id drawn from the
// plugin's DRBG and the attested time of the request, and appends one event
// to the daemon's audit log per request. See README.md.
package main

import (
	"context"
	"net/http"

	"github.com/aunsorm/aunsorm/sdk/plugin"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0"

// echoPlugin implements plugin.Plugin. It holds nothing itself: everything a
// request needs hangs off the handler Configure returns.
type echoPlugin struct{}

var _ plugin.Plugin = echoPlugin{}

// Describe implements plugin.Plugin. The daemon calls it before anything
// else, so it must not do I/O.
func (echoPlugin) Describe() plugin.Descriptor {
	return plugin.Descriptor{
		Name:    "aunsorm-echo",
		Kind:    "echo",
		Version: version,
		// The gateway forwards every path under these prefixes, unchanged.
		Routes:       []string{"/echo/"},
		Capabilities: []string{"echo:json"},
		// Every host service the plugin calls must be declared: the daemon
		// refuses the others. Entropy and attestation need no declaration.
		HostServices: []string{plugin.ServiceAudit},
	}
}

// Configure implements plugin.Plugin.
func (echoPlugin) Configure(_ context.Context, env *plugin.Env) (http.Handler, error) {
	// Decode and check the operator's `config { ... }` block first: the error
	// carries file:line:col diagnostics pointing into their HCL.
	cfg, err := loadConfig(env.Config)
	if err != nil {
		return nil, err
	}
	// `aunsormd config validate` stops here: no side effects, and Rand,
	// Clock and Host are nil.
	if env.ValidateOnly {
		return nil, nil
	}
	env.Logger.Info().Str("instance", env.InstanceName).Msg("echo configured")
	return newHandler(cfg, env.Rand, env.Auditor, env.Logger), nil
}

// main hands the plugin to the SDK and does nothing else: Serve speaks the
// plugin protocol on stdout, so nothing may be printed there before it.
func main() { plugin.Serve(echoPlugin{}) }
