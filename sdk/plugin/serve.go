package plugin

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"syscall"

	"github.com/rs/zerolog"
	"google.golang.org/grpc"

	"github.com/aunsorm/aunsorm/sdk/internal/pluginrpc"
	"github.com/aunsorm/aunsorm/sdk/internal/protocol"
	"github.com/aunsorm/aunsorm/sdk/proto/pluginv1"
)

// Serve runs the plugin until the daemon stops it. It never returns: the
// process exits 0 after a clean stop and 1 when it was not launched by
// aunsormd. Call it from main and do nothing else there.
func Serve(p Plugin) {
	os.Exit(serve(p, os.Stderr))
}

func serve(p Plugin, stderr *os.File) int {
	desc := p.Describe()
	// A plugin's live heap is small and its GC load is per-request
	// garbage: a 400 % target trades a few MiB for throughput. GOGC in
	// the plugin block's env overrides it.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	log := zerolog.New(stderr).With().Timestamp().Str("plugin", desc.Name).Logger()

	// The listener must be taken from fd 3 before go-plugin opens any file
	// descriptor of its own, or fd 3 may be reused.
	ln, err := inheritedListener(protocol.EnvListenerFD, true)
	if err != nil {
		fmt.Fprintf(stderr, "%s %s: %v\nThis binary is an Aunsorm plugin; aunsormd launches it from its HCL configuration.\n", desc.Name, desc.Version, err)
		return 1
	}
	lns := []net.Listener{ln}
	// The daemon may also pass a unix socket the gateway proxies over
	// (cheaper than TCP loopback); the same handler serves both.
	if local, err := inheritedListener(protocol.EnvLocalFD, false); err == nil && local != nil {
		lns = append(lns, newPeerListener(local, daemonPID(), log))
	}
	watchParent(log)
	ignoreStopSignals(log)

	srv := newPluginServer(p, lns, log)
	err = pluginrpc.Serve(pluginrpc.Config{
		CookieKey:   protocol.MagicCookieKey,
		CookieValue: protocol.MagicCookieValue,
		Version:     protocol.Version,
		Register: func(s *grpc.Server, b *pluginrpc.Broker) {
			srv.broker = b
			pluginv1.RegisterPluginServer(s, srv)
		},
		Handshake: os.Stdout,
		// What the plugin prints on stdout after the handshake reaches
		// the daemon's log through stderr.
		AfterHandshake: func() { os.Stdout = stderr },
	})
	if err != nil {
		log.Error().Err(err).Msg("plugin protocol")
		return 1
	}
	return 0
}

// ignoreStopSignals keeps SIGINT and SIGTERM sent to the whole process
// group (Ctrl-C in a terminal, systemd's control-group kill) from killing the
// plugin before the daemon drains it: the daemon decides when a plugin
// stops, and the parent-death pipe ends it if the daemon is gone.
func ignoreStopSignals(log zerolog.Logger) {
	ch := make(chan os.Signal, 4)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		for sig := range ch {
			log.Debug().Str("signal", sig.String()).Msg("ignoring stop signal; the daemon stops plugins")
		}
	}()
}

// inheritedListener turns a socket the daemon passed (its fd number in the
// environment variable env: AUNSORM_LISTENER_FD, normally 3, for the
// plugin's TCP socket) into a net.Listener. An optional one may be absent.
func inheritedListener(env string, required bool) (net.Listener, error) {
	v := os.Getenv(env)
	if v == "" {
		if !required {
			return nil, nil
		}
		return nil, ErrNotServed
	}
	fd, err := strconv.Atoi(v)
	if err != nil || fd < 3 {
		return nil, fmt.Errorf("%w: bad %s", ErrNotServed, env)
	}
	f := os.NewFile(uintptr(fd), "aunsorm-listener")
	if f == nil {
		return nil, fmt.Errorf("%w: fd %d is not open", ErrNotServed, fd)
	}
	defer f.Close() // FileListener holds its own duplicate
	ln, err := net.FileListener(f)
	if err != nil {
		return nil, fmt.Errorf("%w: fd %d is not a listening socket: %v", ErrNotServed, fd, err)
	}
	return ln, nil
}

// watchParent exits the process when the daemon dies: the daemon holds the
// write end of a pipe whose read end is our fd AUNSORM_PARENT_FD, and the
// kernel closes it when the daemon exits for any reason, including kill -9.
// The parent-death signal the daemon also sets is a second layer.
func watchParent(log zerolog.Logger) {
	v := os.Getenv(protocol.EnvParentFD)
	fd, err := strconv.Atoi(v)
	if v == "" || err != nil || fd < 3 {
		return
	}
	f := os.NewFile(uintptr(fd), "aunsorm-parent")
	if f == nil {
		return
	}
	go func() {
		_, _ = io.Copy(io.Discard, f)
		log.Warn().Msg("daemon is gone; exiting")
		os.Exit(2)
	}()
}
