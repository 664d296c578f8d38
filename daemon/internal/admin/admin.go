// Package admin is the daemon's admin API: plugin status, reloads, the
// effective configuration and the audit log. Every request carries a bearer
// token, on every listener:
//
//   - the unix socket (mode 0600, under data_dir by default) takes a token
//     drawn at every start and written beside it (TokenPath, mode 0600).
//     Plugins run as the daemon's user and could connect to the socket, but
//     they are confined away from that file (ADR 11), so only the
//     operator's tools can read it; the socket's mode alone is not relied on.
//   - the optional TCP listener takes the token of token_file; on a
//     non-loopback address it serves TLS only (ListenTCP), so the token
//     never crosses a network in clear.
//
// Routes:
//
//	GET  /v1/plugins               name, kind, version, pid, status, restarts, uptime, sha256, listener, next_attempt
//	POST /v1/plugins/{name}/reload hot-swap one plugin from the current config file
//	POST /v1/reload                re-read the config file and apply it (all or nothing when it has errors)
//	GET  /v1/config                effective configuration, secrets redacted
//	GET  /v1/runtime               the daemon's goroutines and open descriptors
//	GET  /v1/audit                 audit records: after, limit, source, action, since, until
//	GET  /v1/audit/verify          walk the whole hash chain; names the first bad record
package admin

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"github.com/rs/zerolog"

	"github.com/aunsorm/aunsorm/daemon/internal/audit"
	"github.com/aunsorm/aunsorm/daemon/internal/supervisor"
	"github.com/aunsorm/aunsorm/sdk/apierror"
)

// Controller is what the admin API drives; the daemon implements it.
type Controller interface {
	Plugins() []supervisor.Info
	// Reload re-reads the configuration file and applies it. A file with
	// any error changes nothing and yields a *RefusedError.
	Reload(ctx context.Context) ([]supervisor.PluginChange, error)
	ReloadPlugin(ctx context.Context, name string) (supervisor.PluginChange, error)
	EffectiveConfig() map[string]any
	// AuditRecords returns one page of audit records matching f and the
	// state of the hash chain as far as it is verified.
	AuditRecords(ctx context.Context, f audit.Filter) (AuditPage, error)
	// AuditVerify walks the whole audit chain.
	AuditVerify(ctx context.Context) (AuditVerification, error)
	// Now is the daemon's attested time; relative time filters count back
	// from it.
	Now() time.Time
}

// RefusedError is what Reload returns for a configuration file with
// errors: nothing was changed. Diagnostics are rendered as
// `config validate` prints them, one per line.
type RefusedError struct {
	Diagnostics []string
}

// Error implements error.
func (e *RefusedError) Error() string {
	return "the configuration has errors; nothing was changed:\n" + strings.Join(e.Diagnostics, "\n")
}

// AuditPage is one page of the audit log.
type AuditPage struct {
	Records []AuditRecord `json:"records"`
	// NextAfter is the after= of the next page (or of the next poll when
	// following): past every record this page considered, matching or not.
	NextAfter uint64 `json:"next_after"`
	// Verified counts the records from the first whose chain verifies.
	Verified uint64 `json:"verified_records"`
	ChainOK  bool   `json:"chain_ok"`
	Error    string `json:"chain_error,omitempty"`
}

// AuditVerification is the outcome of a full walk of the chain.
type AuditVerification struct {
	Verified uint64 `json:"verified_records"`
	ChainOK  bool   `json:"chain_ok"`
	// FirstBad is the sequence number of the first record that is
	// missing, altered or does not link (0 when the chain is whole).
	FirstBad uint64 `json:"first_bad_seq,omitempty"`
	Error    string `json:"chain_error,omitempty"`
}

// AuditRecord is one audit log record as the API shows it.
type AuditRecord struct {
	Seq      uint64          `json:"seq"`
	Time     time.Time       `json:"time"`
	Source   string          `json:"source"`
	Action   string          `json:"action"`
	Subject  string          `json:"subject"`
	Outcome  string          `json:"outcome"`
	Details  json.RawMessage `json:"details,omitempty"`
	PrevHash string          `json:"prev_hash"`
	Hash     string          `json:"hash"`
}

// Server is the admin API. It is served only through TokenHandler.
type Server struct {
	ctl Controller
	log zerolog.Logger
	h   http.Handler
}

// New returns the admin API; TokenHandler serves it behind a bearer token.
func New(ctl Controller, log zerolog.Logger) *Server {
	s := &Server{ctl: ctl, log: log.With().Str("component", "admin").Logger()}
	r := mux.NewRouter()
	// A non-canonical path is no route (404), never a redirect built from
	// the request.
	r.SkipClean(true)
	routes := []struct {
		method, path string
		h            http.HandlerFunc
	}{
		{http.MethodGet, "/v1/plugins", s.listPlugins},
		{http.MethodPost, "/v1/plugins/{name}/reload", s.reloadPlugin},
		{http.MethodPost, "/v1/reload", s.reload},
		{http.MethodGet, "/v1/config", s.config},
		{http.MethodGet, "/v1/runtime", s.runtimeInfo},
		{http.MethodGet, "/v1/audit", s.audit},
		{http.MethodGet, "/v1/audit/verify", s.auditVerify},
	}
	for _, rt := range routes {
		r.Path(rt.path).HandlerFunc(onlyMethod(rt.method, rt.h))
	}
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		apierror.Write(w, r, apierror.NoEndpoint())
	})
	s.h = r
	return s
}

// onlyMethod answers 405 naming the allowed method (and Allow) for any
// other method than method.
func onlyMethod(method string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != method {
			apierror.WriteMethodNotAllowed(w, r, method)
			return
		}
		h(w, r)
	}
}

// TokenHandler returns the API behind a bearer token: the only way it is
// served.
func (s *Server) TokenHandler(token []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || len(token) == 0 || subtle.ConstantTimeCompare([]byte(got), token) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="aunsorm-admin"`)
			apierror.Write(w, r, apierror.New(http.StatusUnauthorized, "unauthorized", "a valid admin bearer token is required"))
			return
		}
		s.h.ServeHTTP(w, r)
	})
}

// ListenTCP opens the admin API's TCP listener. Bound to a loopback
// address it serves plain HTTP (the bearer token stays on the host); bound
// to any other address it serves TLS with tlsConfig (the gateway's: the
// operator's certificate or the dev CA's), and without one it is refused
// with ErrInsecureListener, so the token never crosses a network in clear.
func ListenTCP(addr string, tlsConfig *tls.Config) (ln net.Listener, tlsOn bool, err error) {
	ln, err = net.Listen("tcp", addr)
	if err != nil {
		return nil, false, fmt.Errorf("admin: %w", err)
	}
	if ta, ok := ln.Addr().(*net.TCPAddr); ok && ta.IP.IsLoopback() {
		return ln, false, nil
	}
	if tlsConfig == nil {
		ln.Close()
		return nil, false, fmt.Errorf("%w: %s is not a loopback address and the gateway serves no TLS", ErrInsecureListener, addr)
	}
	cfg := tlsConfig.Clone()
	cfg.NextProtos = []string{"h2", "http/1.1"}
	return tls.NewListener(ln, cfg), true, nil
}

// TokenPath is where the daemon writes the unix socket's bearer token.
func TokenPath(socket string) string { return socket + ".token" }

// ListenUnix opens the admin unix socket with mode 0600, replacing a stale
// socket file left by a daemon that was killed.
func ListenUnix(path string) (net.Listener, error) {
	if st, err := os.Lstat(path); err == nil {
		if st.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("admin: %s exists and is not a socket", path)
		}
		if c, err := net.DialTimeout("unix", path, 200*time.Millisecond); err == nil {
			c.Close()
			return nil, fmt.Errorf("admin: %s is in use by another daemon", path)
		}
		_ = os.Remove(path)
	}
	// data_dir is 0700, so the socket is private before the chmod too.
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("admin: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("admin: %w", err)
	}
	return ln, nil
}

// Serve serves h on ln until ctx ends.
func Serve(ctx context.Context, ln net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, WriteTimeout: 5 * time.Minute}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func (s *Server) listPlugins(w http.ResponseWriter, r *http.Request) {
	apierror.WriteJSON(w, http.StatusOK, map[string]any{"plugins": s.ctl.Plugins()})
}

func (s *Server) reload(w http.ResponseWriter, r *http.Request) {
	changes, err := s.ctl.Reload(r.Context())
	s.reply(w, r, map[string]any{"changes": changes}, err)
}

func (s *Server) reloadPlugin(w http.ResponseWriter, r *http.Request) {
	ch, err := s.ctl.ReloadPlugin(r.Context(), mux.Vars(r)["name"])
	if errors.Is(err, supervisor.ErrUnknownPlugin) {
		apierror.Write(w, r, apierror.NotFound("%v", err))
		return
	}
	s.reply(w, r, map[string]any{"changes": []supervisor.PluginChange{ch}}, err)
}

// reply sends the reload outcome: 200; 409 reload_refused with the
// diagnostics when the file has errors (nothing changed); or 409
// reload_failed with the changes (rolled-back plugins keep serving) and
// the reason.
func (s *Server) reply(w http.ResponseWriter, r *http.Request, body map[string]any, err error) {
	var refused *RefusedError
	switch {
	case errors.As(err, &refused):
		apierror.WriteJSON(w, http.StatusConflict, map[string]any{
			"error":             "reload_refused",
			"error_description": "the configuration has errors; nothing was changed",
			"request_id":        r.Header.Get(apierror.RequestIDHeader),
			"diagnostics":       refused.Diagnostics,
			"changes":           []supervisor.PluginChange{},
		})
	case err != nil:
		body["error"] = "reload_failed"
		body["error_description"] = err.Error()
		body["request_id"] = r.Header.Get(apierror.RequestIDHeader)
		apierror.WriteJSON(w, http.StatusConflict, body)
	default:
		apierror.WriteJSON(w, http.StatusOK, body)
	}
}

func (s *Server) config(w http.ResponseWriter, r *http.Request) {
	apierror.WriteJSON(w, http.StatusOK, s.ctl.EffectiveConfig())
}

// maxFilterLen bounds the source and action filters (the longest name an
// event may carry).
const maxFilterLen = audit.MaxNameLen

// auditFilter parses the query of GET /v1/audit.
func (s *Server) auditFilter(r *http.Request) (audit.Filter, error) {
	q := r.URL.Query()
	f := audit.Filter{Limit: audit.DefaultListLimit}
	for k := range q {
		switch k {
		case "after", "limit", "source", "action", "since", "until":
			if len(q[k]) > 1 {
				return f, apierror.BadRequest("%s is given more than once", k)
			}
		default:
			return f, apierror.BadRequest("unknown parameter; use after, limit, source, action, since, until")
		}
	}
	if v := q.Get("after"); v != "" {
		n, err := strconv.ParseUint(v, 10, 63)
		if err != nil {
			return f, apierror.BadRequest("after must be a record sequence number")
		}
		f.After = n
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > audit.MaxListLimit {
			return f, apierror.BadRequest("limit must be 1..%d", audit.MaxListLimit)
		}
		f.Limit = n
	}
	f.Source, f.Action = q.Get("source"), q.Get("action")
	if len(f.Source) > maxFilterLen || len(f.Action) > maxFilterLen {
		return f, apierror.BadRequest("source and action are at most %d bytes", maxFilterLen)
	}
	var err error
	if f.Since, err = s.parseTime(q.Get("since")); err != nil {
		return f, apierror.BadRequest("since: %v", err)
	}
	if f.Until, err = s.parseTime(q.Get("until")); err != nil {
		return f, apierror.BadRequest("until: %v", err)
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		return f, apierror.BadRequest("since must be before until")
	}
	return f, nil
}

// parseTime reads a time filter: an RFC 3339 time, or a duration such as
// "90m" meaning that long before the daemon's attested now.
func (s *Server) parseTime(v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return time.Time{}, errors.New("use an RFC 3339 time (2026-01-02T15:04:05Z) or a duration back from now (90m, 24h)")
	}
	return s.ctl.Now().Add(-d), nil
}

func (s *Server) audit(w http.ResponseWriter, r *http.Request) {
	f, err := s.auditFilter(r)
	if err != nil {
		apierror.Write(w, r, err)
		return
	}
	page, err := s.ctl.AuditRecords(r.Context(), f)
	if err != nil {
		s.log.Error().Err(err).Msg("audit list")
		apierror.Write(w, r, apierror.Internal())
		return
	}
	apierror.WriteJSON(w, http.StatusOK, page)
}

func (s *Server) auditVerify(w http.ResponseWriter, r *http.Request) {
	if len(r.URL.RawQuery) > 0 {
		apierror.Write(w, r, apierror.BadRequest("verify takes no parameters"))
		return
	}
	v, err := s.ctl.AuditVerify(r.Context())
	if err != nil {
		s.log.Error().Err(err).Msg("audit verify")
		apierror.Write(w, r, apierror.Internal())
		return
	}
	apierror.WriteJSON(w, http.StatusOK, v)
}

func (s *Server) runtimeInfo(w http.ResponseWriter, r *http.Request) {
	fds := -1
	if ents, err := os.ReadDir("/proc/self/fd"); err == nil {
		fds = len(ents)
	}
	apierror.WriteJSON(w, http.StatusOK, map[string]any{"goroutines": runtime.NumGoroutine(), "open_fds": fds, "pid": os.Getpid()})
}
