package pluginhost

import (
	"context"

	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/aunsorm/aunsorm/sdk/internal/protocol"
	"github.com/aunsorm/aunsorm/sdk/proto/pluginv1"
)

// Handshake is the go-plugin handshake the daemon and plugins share. The
// magic cookie only stops a user from running a plugin binary by hand; it
// is not a security measure.
var Handshake = goplugin.HandshakeConfig{
	ProtocolVersion:  protocol.Version,
	MagicCookieKey:   protocol.MagicCookieKey,
	MagicCookieValue: protocol.MagicCookieValue,
}

// grpcPlugin adapts the protocol to go-plugin on the host side.
type grpcPlugin struct {
	goplugin.NetRPCUnsupportedPlugin
	host pluginv1.HostServer
}

// GRPCServer is the plugin side's (sdk/plugin); the host never serves it.
func (p *grpcPlugin) GRPCServer(*goplugin.GRPCBroker, *grpc.Server) error {
	return protocol.ErrProtocol
}

// dispensedClient is what the host side gets from Dispense.
type dispensedClient struct {
	rpc      pluginv1.PluginClient
	brokerID uint32
}

// GRPCClient starts serving the Host service on a fresh broker id and returns
// the Plugin client.
func (p *grpcPlugin) GRPCClient(_ context.Context, broker *goplugin.GRPCBroker, conn *grpc.ClientConn) (any, error) {
	id := broker.NextId()
	host := p.host
	go broker.AcceptAndServe(id, func(opts []grpc.ServerOption) *grpc.Server {
		s := grpc.NewServer(opts...)
		pluginv1.RegisterHostServer(s, host)
		return s
	})
	return &dispensedClient{rpc: pluginv1.NewPluginClient(conn), brokerID: id}, nil
}

var _ goplugin.GRPCPlugin = (*grpcPlugin)(nil)
