package main

import (
	"context"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"

	"github.com/aunsorm/aunsorm/daemon/internal/admin"
	"github.com/aunsorm/aunsorm/daemon/internal/attest"
	"github.com/aunsorm/aunsorm/daemon/internal/audit"
	"github.com/aunsorm/aunsorm/daemon/internal/config"
	"github.com/aunsorm/aunsorm/daemon/internal/fsutil"
	"github.com/aunsorm/aunsorm/daemon/internal/gateway"
	"github.com/aunsorm/aunsorm/daemon/internal/host"
	"github.com/aunsorm/aunsorm/daemon/internal/logbuf"
	"github.com/aunsorm/aunsorm/daemon/internal/seal"
	"github.com/aunsorm/aunsorm/daemon/internal/supervisor"
	"github.com/aunsorm/aunsorm/sdk/clock"
	"github.com/aunsorm/aunsorm/sdk/proto/pluginv1"
	"github.com/aunsorm/aunsorm/sdk/rng"
)

// newLogger builds the daemon logger: JSON, batched for up to
// c.FlushInterval below warn (logbuf), or console output on a terminal
// when the format is "auto" or "pretty". Call flush before exiting.
func newLogger(c config.Log, stderr io.Writer) (log zerolog.Logger, flush func()) {
	var out io.Writer = stderr
	flush = func() {}
	pretty := c.Format == "pretty"
	if c.Format == "auto" || c.Format == "" {
		if f, ok := stderr.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
			pretty = true
		}
	}
	switch {
	case pretty:
		out = zerolog.ConsoleWriter{Out: stderr, TimeFormat: time.RFC3339}
	case c.FlushInterval > 0:
		b := logbuf.New(stderr, c.FlushInterval)
		out, flush = b, func() { _ = b.Close() }
	}
	lvl, err := zerolog.ParseLevel(c.Level)
	if err != nil || c.Level == "" {
		lvl = zerolog.InfoLevel
	}
	return zerolog.New(out).Level(lvl).With().Timestamp().Logger(), flush
}

// serve runs the daemon until ctx ends.
func serve(ctx context.Context, cfgPath string, getenv func(string) string, stdout, stderr io.Writer) int {
	cfg, diags := config.Load(cfgPath, getenv)
	if diags.HasErrors() {
		fmt.Fprint(stderr, config.FormatDiagnostics(diags))
		return 1
	}
	log, flush := newLogger(cfg.Log, stderr)
	defer flush()
	tuneGC(getenv)
	if err := runDaemon(ctx, cfg, getenv, log); err != nil {
		log.Error().Err(err).Msg("aunsormd stopped with an error")
		return 1
	}
	return 0
}

// tuneGC raises the GC target to 400 % unless GOGC is set: the daemon's
// live heap is small and per-request garbage is the main GC load, so this
// trades a few MiB of memory for ~25 % more gateway throughput (ADR 7).
func tuneGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
}

func runDaemon(ctx context.Context, cfg *config.Config, getenv func(string) string, log zerolog.Logger) error {
	log.Info().Str("version", version).Str("config", cfg.File).Str("data_dir", cfg.DataDir).
		Str("storage", cfg.Storage.Driver).Msg("aunsormd starting")
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// AunsormNativeRng: OS entropy through continuous health tests into an
	// SP 800-90A DRBG; its known-answer test runs before anything is served.
	native, err := rng.NewNative(ctx, rng.NativeConfig{ReseedInterval: cfg.RNG.ReseedInterval})
	if err != nil {
		return fmt.Errorf("rng: %w", err)
	}
	defer native.Close()

	// The root sealing key ring: created on first start with the file
	// source; plugins get keys derived from it, re-read at each start.
	ring, created, err := seal.LoadOrCreate(cfg.Seal, getenv, native)
	if err != nil {
		return fmt.Errorf("seal: %w", err)
	}
	log.Info().Str("component", "seal").Str("source", cfg.Seal.Source).Str("key_file", cfg.Seal.KeyFile).
		Uints32("versions", ring.Versions()).Bool("created", created).Msg("root sealing key ring loaded")
	sealKeys := func(instance string) ([]*pluginv1.SealKey, error) {
		r, err := seal.Load(cfg.Seal, getenv)
		if err != nil {
			return nil, err
		}
		return r.PluginKeys(instance)
	}

	authority, err := newAuthority(ctx, cfg, native, log)
	if err != nil {
		return err
	}
	// Every time the daemon stamps (audit records, plugin start times) is
	// attested: without a first snapshot there is none to give, so the
	// daemon does not start.
	if authority.Tracker().Status().AttestedNow.IsZero() {
		return fmt.Errorf("clock: no attested snapshot to stamp with: %w", authority.Tracker().Status().Err)
	}
	go authority.Run(ctx)
	now := attestedNow(authority)

	// Every record, the daemon's and the plugins', is stamped with
	// attested time.
	auditLog, err := openAudit(ctx, cfg, audit.WithClock(now))
	if err != nil {
		return err
	}
	defer auditLog.Close()

	// Open the gateway socket before launching plugins so a port clash
	// fails fast.
	ln, err := net.Listen("tcp", cfg.Gateway.Listen)
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	defer ln.Close()
	tlsConfig, err := gateway.TLSConfig(cfg.Gateway.TLS, native, time.Now())
	if err != nil {
		return err
	}

	services := host.New(host.Services{Rand: native, Authority: authority, Audit: auditLog, Log: log})
	sup := supervisor.New(supervisor.Options{
		DataDir: cfg.DataDir, ClockKey: authority.PublicKey(), ClockMaxAge: cfg.Clock.MaxAge,
		ReseedInterval: cfg.RNG.ReseedInterval, LogLevel: cfg.Log.Level, Services: services,
		Audit: auditLog, Storage: cfg.Storage, Log: log, Now: now, SealKeys: sealKeys,
	})
	services.Directory = sup
	if err := sup.Start(ctx, cfg.Plugins); err != nil {
		return err
	}
	defer sup.Shutdown(context.Background())

	ctl := &control{path: cfg.File, getenv: getenv, sup: sup, audit: auditLog, log: log, cfg: cfg,
		now: now, validate: validatePlugin}
	go ctl.watchHUP(ctx)
	if err := startAdmin(ctx, cfg.Admin, ctl, native, tlsConfig, log); err != nil {
		return err
	}

	gw := gateway.New(gateway.Options{Config: cfg.Gateway, Supervisor: sup,
		Authority: authority, RNG: native, Rand: native, Log: log, Storage: auditLog})
	scheme := "https"
	if tlsConfig == nil {
		scheme = "http"
	}
	log.Info().Str("listen", ln.Addr().String()).Str("url", scheme+"://"+ln.Addr().String()).
		Int("plugins", len(cfg.Plugins)).Msg("gateway serving")
	err = gw.Serve(ctx, ln, tlsConfig)
	log.Info().Msg("aunsormd stopping")
	return err
}

// startAdmin opens the admin API on its unix socket and, with a token, on
// TCP: plain HTTP on a loopback address, TLS with the gateway's
// certificate on any other (refused when the gateway serves no TLS).
func startAdmin(ctx context.Context, c config.Admin, ctl *control, rand io.Reader, tlsConfig *tls.Config, log zerolog.Logger) error {
	srv := admin.New(ctl, log)
	ln, err := admin.ListenUnix(c.Socket)
	if err != nil {
		return err
	}
	// The socket's token, fresh at every start, for whoever can read the
	// file beside it: the operator, not a (confined) plugin.
	raw := make([]byte, 32)
	if _, err := io.ReadFull(rand, raw); err != nil {
		ln.Close()
		return fmt.Errorf("admin: token: %w", err)
	}
	sockToken := []byte(hex.EncodeToString(raw))
	clear(raw)
	if err := fsutil.WriteFileAtomic(admin.TokenPath(c.Socket), append(slices.Clip(sockToken), '\n'), 0o600); err != nil {
		ln.Close()
		return fmt.Errorf("admin: token: %w", err)
	}
	go func() {
		if err := admin.Serve(ctx, ln, srv.TokenHandler(sockToken)); err != nil {
			log.Error().Err(err).Msg("admin socket stopped")
		}
		_ = os.Remove(c.Socket)
		_ = os.Remove(admin.TokenPath(c.Socket))
	}()
	if c.Listen == "" {
		return nil
	}
	// The same rules as `config validate`: mode 0600 or stricter, length.
	token, err := config.ReadAdminToken(c.TokenFile)
	if err != nil {
		return err
	}
	tln, tlsOn, err := admin.ListenTCP(c.Listen, tlsConfig)
	if err != nil {
		return err
	}
	log.Info().Str("listen", tln.Addr().String()).Bool("tls", tlsOn).Msg("admin API listening on TCP")
	go func() {
		if err := admin.Serve(ctx, tln, srv.TokenHandler(token)); err != nil {
			log.Error().Err(err).Msg("admin listener stopped")
		}
	}()
	return nil
}

// attestedNow returns the daemon's attested clock: the newest accepted
// snapshot advanced by the monotonic clock, never the local wall clock.
// runDaemon refuses to start without a first snapshot; a stale one is
// reported by /health and fails requests closed, not papered over here.
func attestedNow(a *attest.Authority) func() time.Time {
	return func() time.Time { return a.Tracker().Status().AttestedNow }
}

func newAuthority(ctx context.Context, cfg *config.Config, rand io.Reader, log zerolog.Logger) (*attest.Authority, error) {
	if cfg.Clock.Source == config.ClockRemote {
		return attest.NewRemote(ctx, log, attest.RemoteConfig{URL: cfg.Clock.RefreshURL,
			Fingerprint: cfg.Clock.AuthorityFingerprint, MaxAge: cfg.Clock.MaxAge})
	}
	lc := attest.LocalConfig{Dir: filepath.Join(cfg.DataDir, "clock"), ID: "aunsormd-local", MaxAge: cfg.Clock.MaxAge, Rand: rand}
	if len(cfg.Clock.NTPServers) > 0 {
		lc.Offset = attest.NTPOffset(cfg.Clock.NTPServers, rand)
	}
	a, err := attest.NewLocal(log, lc)
	if err != nil {
		return nil, err
	}
	if pin := cfg.Clock.AuthorityFingerprint; pin != "" {
		if got := clock.Fingerprint(a.PublicKey()); !strings.EqualFold(got, pin) {
			return nil, errors.New("clock: the local authority key does not match authority_fingerprint " + pin + " (key fingerprint " + got + ")")
		}
	}
	return a, nil
}
