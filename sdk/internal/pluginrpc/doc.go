// Package pluginrpc is the plugin side of hashicorp/go-plugin's gRPC
// protocol, written against its wire format so that a plugin binary links
// neither go-plugin's client, its process runner nor the sandbox: only the
// daemon (sdk/pluginhost) uses go-plugin itself.
//
// Serve checks the magic cookie, announces the application protocol
// version, listens on a unix socket in the directory the host names
// (loopback TCP on Windows), answers the host's automatic mutual TLS with a
// fresh self-signed certificate, prints the handshake line on stdout and
// serves the gRPC services go-plugin's client expects besides the plugin's
// own: the broker stream (through which the host announces its host
// services; Broker.Dial connects to them), the controller's Shutdown, the
// stdio stream (empty: the plugin writes its logs to stderr, which the host
// reads directly) and the standard health service.
//
// The wire format followed is go-plugin's "core protocol" 1: the handshake
// line CORE|APP|NETWORK|ADDR|grpc|CERT, the environment variables
// PLUGIN_CLIENT_CERT and PLUGIN_UNIX_SOCKET_DIR (the plugin answers
// with its one version whatever PLUGIN_PROTOCOL_VERSIONS offers),
// and the plugin.GRPCBroker, plugin.GRPCController and plugin.GRPCStdio
// services. Broker multiplexing (PLUGIN_MULTIPLEX_GRPC) is not offered; the
// host side does not ask for it.
package pluginrpc
