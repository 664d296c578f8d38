package pluginrpc

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"runtime"
	"slices"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	"google.golang.org/grpc/health/grpc_health_v1"
)

// coreProtocolVersion is go-plugin's own protocol version, the first field
// of the handshake line.
const coreProtocolVersion = 1

// healthService is the name go-plugin's client pings.
const healthService = "plugin"

// Environment variables a go-plugin host sets.
const (
	envClientCert = "PLUGIN_CLIENT_CERT"
	envSocketDir  = "PLUGIN_UNIX_SOCKET_DIR"
)

// Config says what Serve serves.
type Config struct {
	// CookieKey and CookieValue are the magic cookie the host must set.
	CookieKey, CookieValue string
	// Version is the application protocol version this plugin speaks.
	Version int
	// Register adds the plugin's own services; the broker reaches the
	// services the host offers.
	Register func(s *grpc.Server, b *Broker)
	// Handshake receives the handshake line: the process's stdout, which
	// the host reads.
	Handshake io.Writer
	// AfterHandshake, optional, runs once the handshake line is written.
	AfterHandshake func()
	// Getenv reads the environment; default os.Getenv.
	Getenv func(string) string
}

// Serve serves the host until it asks the plugin to shut down (nil) or the
// listener fails. It returns ErrNotLaunched at once when the magic cookie
// is missing, before writing anything.
func Serve(cfg Config) error {
	getenv := cfg.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	if cfg.CookieKey == "" || getenv(cfg.CookieKey) != cfg.CookieValue {
		return ErrNotLaunched
	}
	ln, err := listen(getenv(envSocketDir))
	if err != nil {
		return fmt.Errorf("pluginrpc: listen: %w", err)
	}
	defer ln.Close()

	var tlsConf *tls.Config
	var serverCert string
	if pem := getenv(envClientCert); pem != "" {
		if tlsConf, serverCert, err = autoMTLS([]byte(pem)); err != nil {
			return err
		}
	}
	opts := []grpc.ServerOption{grpc.ForceServerCodec(codec{})}
	if tlsConf != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(tlsConf)))
	}
	s := grpc.NewServer(opts...)
	srv := &server{grpc: s}
	hs := health.NewServer()
	hs.SetServingStatus(healthService, grpc_health_v1.HealthCheckResponse_SERVING)
	grpc_health_v1.RegisterHealthServer(s, hs)
	broker := newBroker(tlsConf)
	s.RegisterService(&brokerDesc, broker)
	s.RegisterService(&controllerDesc, srv)
	s.RegisterService(&stdioDesc, srv)
	if cfg.Register != nil {
		cfg.Register(s, broker)
	}

	line := handshakeLine(cfg.Version, ln.Addr(), serverCert)
	if _, err := io.WriteString(cfg.Handshake, line); err != nil {
		return fmt.Errorf("pluginrpc: handshake: %w", err)
	}
	if f, ok := cfg.Handshake.(interface{ Sync() error }); ok {
		_ = f.Sync()
	}
	if cfg.AfterHandshake != nil {
		cfg.AfterHandshake()
	}
	err = s.Serve(ln)
	if srv.stopping() {
		return nil
	}
	return err
}

// handshakeLine is the line the plugin prints for the host:
// CORE|APP|NETWORK|ADDR|grpc|CERT and a newline. It names the plugin's own
// version whatever the host offered (PLUGIN_PROTOCOL_VERSIONS): a host
// that does not speak it refuses the plugin with a clear message.
func handshakeLine(version int, addr net.Addr, cert string) string {
	return fmt.Sprintf("%d|%d|%s|%s|grpc|%s\n", coreProtocolVersion, version, addr.Network(), addr.String(), cert)
}

// listen opens the plugin's gRPC listener: a unix socket with a fresh name
// in dir (the system's temporary directory when empty), or loopback TCP on
// Windows.
func listen(dir string) (net.Listener, error) {
	if runtime.GOOS == "windows" {
		return net.Listen("tcp", "127.0.0.1:0")
	}
	f, err := os.CreateTemp(dir, "plugin")
	if err != nil {
		return nil, err
	}
	path := f.Name()
	f.Close()
	if err := os.Remove(path); err != nil {
		return nil, err
	}
	return net.Listen("unix", path)
}

// autoMTLS answers the host's certificate (PEM) with a fresh self-signed
// one: the server requires and verifies the host's certificate, and the
// same configuration dials the host's broker services. It returns the
// configuration and the raw certificate, base64 without padding, for the
// handshake line.
//
// The key is drawn from crypto/rand: it protects the transport to the host
// that seeds the plugin's own DRBG, so it exists before that DRBG does.
func autoMTLS(hostPEM []byte) (*tls.Config, string, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(hostPEM) {
		return nil, "", fmt.Errorf("%w: the host's certificate (%s) is not PEM", ErrMessage, envClientCert)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, "", fmt.Errorf("pluginrpc: tls key: %w", err)
	}
	sn, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, "", fmt.Errorf("pluginrpc: tls serial: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          sn,
		Subject:               pkix.Name{CommonName: "localhost", Organization: []string{"Aunsorm plugin"}},
		DNSNames:              []string{"localhost"},
		NotBefore:             now.Add(-30 * time.Second),
		NotAfter:              now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageKeyAgreement | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, "", fmt.Errorf("pluginrpc: tls certificate: %w", err)
	}
	conf := &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
		RootCAs:      pool,
		ServerName:   "localhost",
		MinVersion:   tls.VersionTLS12,
	}
	return conf, base64.RawStdEncoding.EncodeToString(der), nil
}

// server answers the controller and stdio services.
type server struct {
	grpc *grpc.Server
	once sync.Once
	mu   sync.Mutex
	stop bool
}

func (s *server) shutdown() {
	s.once.Do(func() {
		s.mu.Lock()
		s.stop = true
		s.mu.Unlock()
		go s.grpc.Stop()
	})
}

func (s *server) stopping() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stop
}

var controllerDesc = grpc.ServiceDesc{
	ServiceName: "plugin.GRPCController",
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "Shutdown",
		Handler: func(srv any, _ context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
			if err := dec(&empty{}); err != nil {
				return nil, err
			}
			srv.(*server).shutdown()
			return &empty{}, nil
		},
	}},
}

// The stdio stream carries nothing: the plugin's output goes to its
// stderr, which the host reads itself. It stays open until the host
// closes it, so the host does not report the service missing.
var stdioDesc = grpc.ServiceDesc{
	ServiceName: "plugin.GRPCStdio",
	HandlerType: (*any)(nil),
	Streams: []grpc.StreamDesc{{
		StreamName:    "StreamStdio",
		ServerStreams: true,
		Handler: func(_ any, stream grpc.ServerStream) error {
			if err := stream.RecvMsg(&empty{}); err != nil {
				return err
			}
			<-stream.Context().Done()
			return nil
		},
	}},
}

var brokerDesc = grpc.ServiceDesc{
	ServiceName: "plugin.GRPCBroker",
	HandlerType: (*any)(nil),
	Streams: []grpc.StreamDesc{{
		StreamName:    "StartStream",
		ServerStreams: true,
		ClientStreams: true,
		Handler: func(srv any, stream grpc.ServerStream) error {
			return srv.(*Broker).startStream(stream)
		},
	}},
}

// maxAnnounced bounds the broker services remembered before a Dial asks.
const maxAnnounced = 64

// Broker connects to the services the host announces on the broker
// stream, by service id.
type Broker struct {
	tls *tls.Config

	mu      sync.Mutex
	known   map[uint32]connInfo
	order   []uint32
	changed chan struct{} // closed and replaced on every announcement
}

func newBroker(tlsConf *tls.Config) *Broker {
	return &Broker{tls: tlsConf, known: map[uint32]connInfo{}, changed: make(chan struct{})}
}

// startStream reads the host's announcements until the stream ends.
func (b *Broker) startStream(stream grpc.ServerStream) error {
	for {
		var ci connInfo
		if err := stream.RecvMsg(&ci); err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
		if ci.Knock != nil {
			continue // multiplexing, which this side does not offer
		}
		b.announce(ci)
	}
}

func (b *Broker) announce(ci connInfo) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.known[ci.ServiceID]; !ok {
		b.order = append(b.order, ci.ServiceID)
		if len(b.order) > maxAnnounced {
			delete(b.known, b.order[0])
			b.order = slices.Delete(b.order, 0, 1)
		}
	}
	b.known[ci.ServiceID] = ci
	close(b.changed)
	b.changed = make(chan struct{})
}

// DialTimeout bounds the wait for the host to announce a service.
const DialTimeout = 5 * time.Second

// Dial connects to the host's service id once the host has announced it
// (waiting up to DialTimeout or until ctx ends), with the same mutual TLS
// as the plugin's own server.
func (b *Broker) Dial(ctx context.Context, id uint32) (*grpc.ClientConn, error) {
	timer := time.NewTimer(DialTimeout)
	defer timer.Stop()
	var ci connInfo
	for {
		b.mu.Lock()
		c, ok := b.known[id]
		changed := b.changed
		b.mu.Unlock()
		if ok {
			ci = c
			break
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: service %d: %w", ErrBroker, id, ctx.Err())
		case <-timer.C:
			return nil, fmt.Errorf("%w: the host did not announce service %d", ErrBroker, id)
		}
	}
	if ci.Network != "unix" && ci.Network != "tcp" {
		return nil, fmt.Errorf("%w: service %d: unknown network %q", ErrBroker, id, ci.Network)
	}
	dialer := func(ctx context.Context, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, ci.Network, ci.Address)
	}
	creds := grpc.WithTransportCredentials(insecure.NewCredentials())
	if b.tls != nil {
		creds = grpc.WithTransportCredentials(credentials.NewTLS(b.tls))
	}
	conn, err := grpc.NewClient("passthrough:///host", grpc.WithContextDialer(dialer), creds)
	if err != nil {
		return nil, fmt.Errorf("%w: service %d: %w", ErrBroker, id, err)
	}
	return conn, nil
}
