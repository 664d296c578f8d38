// Package plugintest runs an Aunsorm plugin binary under a test host, so a
// plugin author can test the real binary without the daemon.
//
// Start launches the binary with pluginhost.Launch exactly as aunsormd does: on
// a loopback listener the harness owns, with a Host service that hands out
// real seeds (sdk/rng AunsormNativeRng), streams clock snapshots signed by a
// real Ed25519 authority, records audit events in memory, answers peer calls
// with Unavailable and lists only this plugin in the topology. Start
// configures the plugin, waits until it reports healthy and stops it when
// the test ends:
//
//	func TestEcho(t *testing.T) {
//		h := plugintest.Start(t, plugintest.Options{
//			Binary: "bin/aunsorm-plugin-echo",
//			Config: `greeting = "hi"`,
//		})
//		resp, err := http.Post(h.URL+"/echo/", "application/json", strings.NewReader(`{"ping":1}`))
//		...
//	}
//
// Conform runs the conformance suite every plugin must pass: a sane
// descriptor, health with clock and RNG, the JSON error shape on unknown
// paths, fail-closed behaviour when attested time goes stale, positioned
// configuration diagnostics, and a clean drained stop. Validate runs only
// the validate-only Configure that `aunsormd config validate` performs.
//
// New and Verify are Start and Conform without a testing.TB, for tools
// (`aunsormd plugin verify`) and runnable examples.
package plugintest
