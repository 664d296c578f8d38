// Package pluginhost is the host side of the Aunsorm plugin protocol: what
// aunsormd and sdk/plugintest use to start and drive a plugin process.
//
// Launch verifies a plugin binary against its pinned digest (DigestCache,
// FileDigest), starts it confined (SandboxPolicy, sdk/sandbox) with its
// listening sockets and lifeline pipe, completes the go-plugin handshake
// and reads the plugin's descriptor; the returned Client configures,
// health-checks, drains and stops it. The plugin's stdout and stderr are
// parsed into the daemon's log, rate-limited and length-capped. The audit
// event rules (CheckAuditName, CheckAuditText, CompactAuditDetails) are the
// ones the daemon's audit log and plugintest apply to Host.Audit calls.
//
// A plugin author does not import this package: plugin binaries link only
// sdk/plugin, which keeps them free of the sandbox and of go-plugin's
// process runner, and buildable on every platform Go supports.
package pluginhost
