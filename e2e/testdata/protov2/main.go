// Command protov2 is a test plugin that speaks only a future protocol
// version (2): the daemon must refuse it, and a swap to it must roll back.
package main

import (
	goplugin "github.com/hashicorp/go-plugin"

	"github.com/aunsorm/aunsorm/sdk/pluginhost"
)

func main() {
	hs := pluginhost.Handshake
	hs.ProtocolVersion = 2
	goplugin.Serve(&goplugin.ServeConfig{
		HandshakeConfig:  hs,
		VersionedPlugins: map[int]goplugin.PluginSet{2: {}},
		GRPCServer:       goplugin.DefaultGRPCServer,
	})
}
