// Package admin is the daemon's admin API: plugin status, reloads and the
// effective configuration. It listens on a unix socket (mode 0600, under
// data_dir) by default; a TCP listener is opened only with a bearer token.
// The unix socket takes a bearer token too: one drawn at every start and
// written beside the socket (TokenPath, mode 0600). Plugins run as the
// daemon's user and could connect to the socket, but they are confined
// away from that file (ADR 11), so only the operator's tools can read it.
//
//	GET  /v1/plugins               name, kind, version, pid, status, restarts, uptime, sha256, listener
//	POST /v1/plugins/{name}/reload hot-swap one plugin from the current config file
//	POST /v1/reload                re-read the config file and apply it
//	GET  /v1/config                effective configuration, secrets redacted
//	GET  /v1/runtime               the daemon's goroutines and open descriptors
//	GET  /v1/audit?after=N&limit=M audit records and whether the hash chain verifies
package admin

import (
	"context"
	"crypto/subtle"
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

	"github.com/aunsorm/aunsorm/daemon/internal/supervisor"
	"github.com/aunsorm/aunsorm/sdk/apierror"
)

// Controller is what the admin API drives; the daemon implements it.
type Controller interface {
	Plugins() []supervisor.Info
	Reload(ctx context.Context) ([]supervisor.PluginChange, error)
	ReloadPlugin(ctx context.Context, name string) (supervisor.PluginChange, error)
	EffectiveConfig() map[string]any
	// AuditRecords lists audit records after a sequence number and reports
	// whether the whole chain verifies.
	AuditRecords(ctx context.Context, after uint64, limit int) (AuditPage, error)
}

// AuditPage is one page of the audit log.
type AuditPage struct {
	Records  []AuditRecord `json:"records"`
	Verified uint64        `json:"verified_records"`
	ChainOK  bool          `json:"chain_ok"`
	Error    string        `json:"chain_error,omitempty"`
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

// Server is the admin API.
type Server struct {
	ctl Controller
	log zerolog.Logger
	h   http.Handler
}

// New returns the admin API. Handler serves it without authentication (the
// unix socket relies on its mode); TokenHandler requires a bearer token.
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
	}
	// A path's methods, in table order, for the 405 that names them.
	var paths []string
	allowed := map[string][]string{}
	for _, rt := range routes {
		r.Path(rt.path).Methods(rt.method).HandlerFunc(rt.h)
		if _, ok := allowed[rt.path]; !ok {
			paths = append(paths, rt.path)
		}
		allowed[rt.path] = append(allowed[rt.path], rt.method)
	}
	// Registered after every method route, so they match only when no
	// method of the path does.
	for _, p := range paths {
		methods := allowed[p]
		r.Path(p).HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			apierror.WriteMethodNotAllowed(w, r, methods...)
		})
	}
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		apierror.Write(w, r, apierror.NoEndpoint())
	})
	s.h = r
	return s
}

// Handler returns the API without authentication (unix socket).
func (s *Server) Handler() http.Handler { return s.h }

// TokenHandler returns the API behind a bearer token (TCP listener).
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

// reply sends the reload outcome: 200, or 409 with the changes (rolled-back
// plugins keep serving) and the reason.
func (s *Server) reply(w http.ResponseWriter, r *http.Request, body map[string]any, err error) {
	if err != nil {
		body["error"] = "reload_failed"
		body["error_description"] = err.Error()
		apierror.WriteJSON(w, http.StatusConflict, body)
		return
	}
	apierror.WriteJSON(w, http.StatusOK, body)
}

func (s *Server) config(w http.ResponseWriter, r *http.Request) {
	apierror.WriteJSON(w, http.StatusOK, s.ctl.EffectiveConfig())
}

func (s *Server) audit(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var after uint64
	limit := 100
	if v := q.Get("after"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			apierror.Write(w, r, apierror.BadRequest("after must be a record sequence number"))
			return
		}
		after = n
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			apierror.Write(w, r, apierror.BadRequest("limit must be 1..1000"))
			return
		}
		limit = n
	}
	page, err := s.ctl.AuditRecords(r.Context(), after, limit)
	if err != nil {
		s.log.Error().Err(err).Msg("audit list")
		apierror.Write(w, r, apierror.Internal())
		return
	}
	apierror.WriteJSON(w, http.StatusOK, page)
}

func (s *Server) runtimeInfo(w http.ResponseWriter, r *http.Request) {
	fds := -1
	if ents, err := os.ReadDir("/proc/self/fd"); err == nil {
		fds = len(ents)
	}
	apierror.WriteJSON(w, http.StatusOK, map[string]any{"goroutines": runtime.NumGoroutine(), "open_fds": fds, "pid": os.Getpid()})
}
