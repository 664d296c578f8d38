package plugin

import (
	"context"

	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/aunsorm/aunsorm/sdk/internal/protocol"
	"github.com/aunsorm/aunsorm/sdk/proto/pluginv1"
)

// handshake is the go-plugin handshake the daemon expects.
var handshake = goplugin.HandshakeConfig{
	ProtocolVersion:  protocol.Version,
	MagicCookieKey:   protocol.MagicCookieKey,
	MagicCookieValue: protocol.MagicCookieValue,
}

// grpcPlugin adapts the protocol to go-plugin on the plugin side.
type grpcPlugin struct {
	goplugin.NetRPCUnsupportedPlugin
	server *pluginServer
}

// GRPCServer registers the Plugin service.
func (p *grpcPlugin) GRPCServer(broker *goplugin.GRPCBroker, s *grpc.Server) error {
	p.server.broker = broker
	pluginv1.RegisterPluginServer(s, p.server)
	return nil
}

// GRPCClient is the host side's (sdk/pluginhost); a plugin never dispenses.
func (p *grpcPlugin) GRPCClient(_ context.Context, _ *goplugin.GRPCBroker, _ *grpc.ClientConn) (any, error) {
	return nil, ErrProtocol
}

var _ goplugin.GRPCPlugin = (*grpcPlugin)(nil)
