package plugin

import (
	"context"

	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/aunsorm/aunsorm/sdk/proto/pluginv1"
)

// Handshake is the go-plugin handshake shared by the daemon and plugins. The
// magic cookie only stops a user from running a plugin binary by hand; it is
// not a security measure.
var Handshake = goplugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   "AUNSORM_PLUGIN_MAGIC_COOKIE",
	MagicCookieValue: "b1f7a3c5-aunsorm-plugin-v1",
}

// dispenseName is the single go-plugin plugin name in every plugin set.
const dispenseName = "aunsorm"

// Environment variables the daemon sets for the plugin process.
const (
	envListenerFD = "AUNSORM_LISTENER_FD"
	envLocalFD    = "AUNSORM_LOCAL_LISTENER_FD"
	envParentFD   = "AUNSORM_PARENT_FD"
	// envDaemonPID names the one process allowed to connect to the unix
	// socket (the launching daemon), see peerListener.
	envDaemonPID = "AUNSORM_DAEMON_PID"
)

// grpcPlugin adapts the protocol to go-plugin on both sides: the plugin side
// sets server, the host side sets host.
type grpcPlugin struct {
	goplugin.NetRPCUnsupportedPlugin
	server *pluginServer       // plugin side
	host   pluginv1.HostServer // host side
}

// GRPCServer registers the Plugin service (plugin side).
func (p *grpcPlugin) GRPCServer(broker *goplugin.GRPCBroker, s *grpc.Server) error {
	p.server.broker = broker
	pluginv1.RegisterPluginServer(s, p.server)
	return nil
}

// dispensedClient is what the host side gets from Dispense.
type dispensedClient struct {
	rpc      pluginv1.PluginClient
	brokerID uint32
}

// GRPCClient starts serving the Host service on a fresh broker id and returns
// the Plugin client (host side).
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
