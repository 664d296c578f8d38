package plugintest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/aunsorm/aunsorm/sdk/apierror"
	"github.com/aunsorm/aunsorm/sdk/calibration"
	"github.com/aunsorm/aunsorm/sdk/plugin"
)

// StaleClockMaxAge is the clock maximum age of the second instance the
// stale_clock rule starts, so that attested time goes stale quickly; the
// other rules run with Options.ClockMaxAge.
const StaleClockMaxAge = time.Second

// Paths Conform probes under each route prefix; no plugin should serve them.
const (
	probeNotFound = "plugintest-no-such-endpoint"
	probeStale    = "plugintest-stale-probe"
	// probeAttribute is the attribute Conform adds to the configuration,
	// which every plugin must reject with a positioned diagnostic.
	probeAttribute = "plugintest_unknown_attribute"
)

// maxProbeBody bounds what Conform reads of a response.
const maxProbeBody = 1 << 20

// knownServices are the host services a plugin may declare.
var knownServices = []string{plugin.ServiceEntropy, plugin.ServiceAttestation, plugin.ServiceAudit,
	plugin.ServicePeer, plugin.ServiceTopology}

// Result is the outcome of one conformance rule.
type Result struct {
	// Rule names the rule, as Conform names its subtest ("describe",
	// "not_found/echo", "stop", ...).
	Rule string
	// Err is nil when the plugin keeps the rule; it wraps ErrNonconformant
	// when the plugin breaks it.
	Err error
}

// Conform runs the conformance suite against the plugin binary, each rule
// as a subtest:
//
//   - describe: name, kind (equal to kind) and version are set; every route
//     starts and ends with '/', is not "/" and appears once; host services
//     are known names.
//   - health: the plugin's own GET /health answers 200 with status, clock
//     and rng "ok".
//   - not_found/<route>: an unknown path under each route answers 404 in the
//     JSON error shape {error, error_description, request_id} carrying the
//     request's X-Request-Id (application/problem+json is accepted for
//     plugins whose API is RFC 7807, such as ACME).
//   - config/valid: the configuration passes validate-only Configure.
//   - config/unknown_attribute: an unknown attribute is rejected with a
//     diagnostic at its line.
//   - stale_clock: in a second instance (ClockMaxAge StaleClockMaxAge, its
//     own temporary data directory), once the test authority stops signing
//     and attested time goes stale, /health reports the stale clock and a
//     request answers 503 stale_attestation; after the clock resumes the
//     plugin is healthy again.
//   - stop: Stop drains and returns, the process exits and the listener
//     refuses connections.
//
// Start failing (launch, Configure, health) fails the test at once.
func Conform(t *testing.T, opts Options, kind string) {
	t.Helper()
	if opts.Log == nil {
		lw := &testLogWriter{t: t}
		t.Cleanup(lw.close) // runs after Start's cleanup has stopped the plugin
		opts.Log = lw
	}
	s := newSuite(Start(t, opts), opts, kind)
	defer s.hc.CloseIdleConnections()
	for _, r := range s.rules() {
		t.Run(r.name, func(t *testing.T) {
			if err := r.run(t.Context()); err != nil {
				t.Error(err)
			}
		})
	}
}

// Verify is Conform without a testing.T, for tools such as `aunsormd plugin
// verify`: it runs every rule and returns one Result per rule, in order. The
// error is set only when the plugin could not be started and configured.
func Verify(ctx context.Context, opts Options, kind string) ([]Result, error) {
	h, err := New(ctx, opts)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	s := newSuite(h, opts, kind)
	defer s.hc.CloseIdleConnections()
	var out []Result
	for _, r := range s.rules() {
		out = append(out, Result{Rule: r.name, Err: r.run(ctx)})
	}
	return out, nil
}

// suite is one run of the conformance rules against a started plugin.
type suite struct {
	h    *Harness
	opts Options
	kind string
	hc   *http.Client
}

// rule is one conformance check.
type rule struct {
	name string
	run  func(ctx context.Context) error
}

func newSuite(h *Harness, opts Options, kind string) *suite {
	return &suite{h: h, opts: opts, kind: kind,
		hc: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}}}
}

// rules lists the suite in the order it runs; stop is last.
func (s *suite) rules() []rule {
	rs := []rule{
		{"describe", func(context.Context) error { return checkDescriptor(s.h.Descriptor, s.kind) }},
		{"health", func(ctx context.Context) error {
			status, _, body, err := s.get(ctx, "/health", "")
			if err != nil {
				return err
			}
			return checkHealth(status, body)
		}},
	}
	for i, route := range s.h.Descriptor.Routes {
		rs = append(rs, rule{"not_found/" + strings.Trim(route, "/"), func(ctx context.Context) error {
			id := fmt.Sprintf("plugintest-not-found-%d", i)
			status, hdr, body, err := s.get(ctx, route+probeNotFound, id)
			if err != nil {
				return err
			}
			return checkErrorShape(status, hdr, body, http.StatusNotFound, "", id, true)
		}})
	}
	return append(rs,
		rule{"config/valid", func(ctx context.Context) error {
			if err := s.validate(ctx, s.opts.Config); err != nil {
				return fmt.Errorf("%w: the configuration under test is rejected: %w", ErrNonconformant, err)
			}
			return nil
		}},
		rule{"config/unknown_attribute", func(ctx context.Context) error {
			cfg, line := withUnknownAttribute(s.opts.Config)
			return checkDiagnostics(s.validate(ctx, cfg), line)
		}},
		rule{"stale_clock", s.staleClock},
		rule{"stop", s.stop},
	)
}

// get sends GET path to the plugin's listener with the request id (when
// set) and returns the status, header and body.
func (s *suite) get(ctx context.Context, path, requestID string) (int, http.Header, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.h.URL+path, nil)
	if err != nil {
		return 0, nil, nil, err
	}
	if requestID != "" {
		req.Header.Set(apierror.RequestIDHeader, requestID)
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("%w: GET %s: %w", ErrNonconformant, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxProbeBody))
	if err != nil {
		return 0, nil, nil, fmt.Errorf("%w: GET %s: reading the body: %w", ErrNonconformant, path, err)
	}
	return resp.StatusCode, resp.Header, body, nil
}

// validate runs validate-only Configure with the suite's options and the
// given configuration.
func (s *suite) validate(ctx context.Context, config string) error {
	opts := s.opts
	opts.Config = config
	return validate(ctx, opts)
}

// staleClock starts a second instance with a short clock maximum age,
// stops its clock, waits for the plugin to see attested time go stale,
// checks that requests fail closed, then resumes the clock.
func (s *suite) staleClock(ctx context.Context) error {
	opts := s.opts
	opts.ClockMaxAge, opts.DataDir = StaleClockMaxAge, "" // New makes and removes a temporary one
	h, err := New(ctx, opts)
	if err != nil {
		return fmt.Errorf("%w: starting a second instance: %w", ErrNonconformant, err)
	}
	defer h.Close()
	hs := &suite{h: h, opts: opts, kind: s.kind, hc: s.hc}

	path := "/" + probeStale
	if len(h.Descriptor.Routes) > 0 {
		path = h.Descriptor.Routes[0] + probeStale
	}
	h.StopClock()
	// Generous: the snapshot goes stale ClockMaxAge after it was signed.
	wait := 3*opts.ClockMaxAge + 10*time.Second
	if err := hs.waitHealth(ctx, wait, false); err != nil {
		return fmt.Errorf("%w: /health still reports a fresh clock %s after the authority stopped: %w", ErrNonconformant, wait, err)
	}
	status, hdr, body, err := hs.get(ctx, path, "plugintest-stale")
	if err != nil {
		return err
	}
	if err := checkErrorShape(status, hdr, body, http.StatusServiceUnavailable, calibration.CodeStale, "plugintest-stale", false); err != nil {
		return fmt.Errorf("request with stale attested time: %w", err)
	}
	h.ResumeClock()
	if err := hs.waitHealth(ctx, 10*time.Second, true); err != nil {
		return fmt.Errorf("%w: the plugin did not become healthy again after the clock resumed: %w", ErrNonconformant, err)
	}
	return nil
}

// waitHealth polls /health until it reports a healthy (ok) or a stale
// clock, or the wait ends; it returns the last problem seen when it ends.
func (s *suite) waitHealth(ctx context.Context, wait time.Duration, ok bool) error {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	for {
		status, _, body, err := s.get(ctx, "/health", "")
		if err == nil {
			if ok {
				if err = checkHealth(status, body); err == nil {
					return nil
				}
			} else {
				var rep healthBody
				if json.Unmarshal(body, &rep) == nil && status == http.StatusServiceUnavailable && rep.Clock.Status == "stale" {
					return nil
				}
				err = fmt.Errorf("/health: %d, clock %q", status, rep.Clock.Status)
			}
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// stop stops the plugin and checks it exited and released the listener.
func (s *suite) stop(context.Context) error {
	addr := strings.TrimPrefix(s.h.URL, "http://")
	s.hc.CloseIdleConnections()
	if err := s.h.Stop(DefaultDrain); err != nil {
		return fmt.Errorf("%w: stop: %w", ErrNonconformant, err)
	}
	if !s.h.Client().Exited() {
		return fmt.Errorf("%w: the process is still running after Stop", ErrNonconformant)
	}
	if conn, err := net.DialTimeout("tcp", addr, 2*time.Second); err == nil {
		conn.Close()
		return fmt.Errorf("%w: %s still accepts connections after Stop", ErrNonconformant, addr)
	}
	return nil
}

// checkDescriptor applies the descriptor rules.
func checkDescriptor(d plugin.Descriptor, kind string) error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: descriptor: "+format, append([]any{ErrNonconformant}, args...)...))
	}
	if d.Name == "" {
		bad("name is empty")
	}
	if d.Version == "" {
		bad("version is empty")
	}
	if d.Kind != kind {
		bad("kind is %q, want %q", d.Kind, kind)
	}
	for i, r := range d.Routes {
		switch {
		case !strings.HasPrefix(r, "/") || !strings.HasSuffix(r, "/"):
			bad("route %q must start and end with '/'", r)
		case r == "/":
			bad("route \"/\" would claim every path")
		case strings.Contains(r, "//") || strings.ContainsAny(r, " \t?#{}%\\"):
			bad("route %q is not a plain path prefix", r)
		case slices.Contains(d.Routes[:i], r):
			bad("route %q is listed twice", r)
		}
	}
	for _, s := range d.HostServices {
		if !slices.Contains(knownServices, s) {
			bad("unknown host service %q", s)
		}
	}
	for _, c := range d.Capabilities {
		if strings.TrimSpace(c) == "" {
			bad("empty capability")
		}
	}
	return errors.Join(errs...)
}

// healthBody is the part of the SDK's /health report Conform reads.
type healthBody struct {
	Status string `json:"status"`
	Plugin string `json:"plugin"`
	Clock  struct {
		Status string `json:"status"`
	} `json:"clock"`
	RNG struct {
		Status string `json:"status"`
	} `json:"rng"`
}

// checkHealth requires 200 and status, clock and rng "ok".
func checkHealth(status int, body []byte) error {
	var rep healthBody
	if err := json.Unmarshal(body, &rep); err != nil {
		return fmt.Errorf("%w: /health: %d, body is not JSON: %v", ErrNonconformant, status, err)
	}
	if status != http.StatusOK || rep.Status != "ok" || rep.Clock.Status != "ok" || rep.RNG.Status != "ok" {
		return fmt.Errorf("%w: /health: %d, status %q, clock %q, rng %q; want 200 and all \"ok\"",
			ErrNonconformant, status, rep.Status, rep.Clock.Status, rep.RNG.Status)
	}
	return nil
}

// errorBody is the JSON error shape, with pointers to tell absent fields.
type errorBody struct {
	Error            *string `json:"error"`
	ErrorDescription *string `json:"error_description"`
	RequestID        *string `json:"request_id"`
}

// problemBody is the RFC 7807 shape.
type problemBody struct {
	Type   string `json:"type"`
	Status int    `json:"status"`
}

// checkErrorShape requires the status and the JSON error shape with exactly
// the fields error (equal to code when set), error_description and
// request_id (equal to requestID). With allowProblem, an
// application/problem+json body with a type is accepted instead.
func checkErrorShape(status int, hdr http.Header, body []byte, wantStatus int, code, requestID string, allowProblem bool) error {
	if status != wantStatus {
		return fmt.Errorf("%w: status %d, want %d (body %.200q)", ErrNonconformant, status, wantStatus, body)
	}
	mt, _, err := mime.ParseMediaType(hdr.Get("Content-Type"))
	if err != nil {
		return fmt.Errorf("%w: content type %q is not JSON", ErrNonconformant, hdr.Get("Content-Type"))
	}
	if allowProblem && mt == "application/problem+json" {
		var p problemBody
		if err := json.Unmarshal(body, &p); err != nil || p.Type == "" || (p.Status != 0 && p.Status != wantStatus) {
			return fmt.Errorf("%w: problem+json body without a type or with the wrong status: %.200q", ErrNonconformant, body)
		}
		return nil
	}
	if mt != "application/json" {
		return fmt.Errorf("%w: content type %q, want application/json", ErrNonconformant, mt)
	}
	var e errorBody
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return fmt.Errorf("%w: body is not the error shape {error, error_description, request_id}: %v", ErrNonconformant, err)
	}
	if dec.More() {
		return fmt.Errorf("%w: body holds more than one JSON value", ErrNonconformant)
	}
	switch {
	case e.Error == nil || *e.Error == "":
		return fmt.Errorf("%w: error code is missing", ErrNonconformant)
	case code != "" && *e.Error != code:
		return fmt.Errorf("%w: error code %q, want %q", ErrNonconformant, *e.Error, code)
	case e.ErrorDescription == nil:
		return fmt.Errorf("%w: error_description is missing", ErrNonconformant)
	case e.RequestID == nil || *e.RequestID != requestID:
		got := "(missing)"
		if e.RequestID != nil {
			got = *e.RequestID
		}
		return fmt.Errorf("%w: request_id %q, want the request's X-Request-Id %q", ErrNonconformant, got, requestID)
	}
	return nil
}

// withUnknownAttribute appends probeAttribute on a line of its own and
// returns the configuration and that line's number.
func withUnknownAttribute(config string) (string, int) {
	config = strings.TrimRight(config, " \t\r\n")
	if config != "" {
		config += "\n"
	}
	line := strings.Count(config, "\n") + 1
	return config + probeAttribute + " = true\n", line
}

// checkDiagnostics requires a *plugin.ConfigError with an error diagnostic
// at the given line of ConfigFilename.
func checkDiagnostics(err error, line int) error {
	if err == nil {
		return fmt.Errorf("%w: the unknown attribute %q was accepted; decode config with env.Config.Decode", ErrNonconformant, probeAttribute)
	}
	var ce *plugin.ConfigError
	if !errors.As(err, &ce) {
		return fmt.Errorf("%w: the unknown attribute was rejected without diagnostics: %v", ErrNonconformant, err)
	}
	for _, d := range ce.Diagnostics {
		if d.Severity == hcl.DiagError && d.Subject != nil && d.Subject.Filename == ConfigFilename && d.Subject.Start.Line == line {
			return nil
		}
	}
	return fmt.Errorf("%w: no error diagnostic points at %s:%d, where the unknown attribute is; got: %v", ErrNonconformant, ConfigFilename, line, ce)
}
