package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/rs/zerolog"

	"github.com/aunsorm/aunsorm/daemon/internal/admin"
	"github.com/aunsorm/aunsorm/daemon/internal/audit"
	"github.com/aunsorm/aunsorm/daemon/internal/config"
	"github.com/aunsorm/aunsorm/daemon/internal/supervisor"
)

// control implements admin.Controller and SIGHUP reloads over the running
// daemon.
type control struct {
	path   string
	getenv func(string) string
	sup    *supervisor.Supervisor
	audit  *audit.Log
	log    zerolog.Logger
	// now is the attested clock.
	now func() time.Time
	// validate checks one plugin's own config block (validatePlugin).
	validate func(context.Context, config.Plugin) hcl.Diagnostics

	mu  sync.Mutex
	cfg *config.Config
}

// Plugins implements admin.Controller.
func (c *control) Plugins() []supervisor.Info {
	var out []supervisor.Info
	for _, m := range c.sup.Plugins() {
		out = append(out, m.Info())
	}
	return out
}

// EffectiveConfig implements admin.Controller.
func (c *control) EffectiveConfig() map[string]any {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cfg.Redacted()
}

// AuditRecords implements admin.Controller. The chain status comes from
// VerifyPrefix: each page costs what was appended since the last one.
func (c *control) AuditRecords(ctx context.Context, f audit.Filter) (admin.AuditPage, error) {
	recs, next, err := c.audit.Query(ctx, f)
	if err != nil {
		return admin.AuditPage{}, err
	}
	page := admin.AuditPage{ChainOK: true, NextAfter: next, Records: make([]admin.AuditRecord, 0, len(recs))}
	page.Verified, err = c.audit.VerifyPrefix(ctx)
	if err != nil {
		page.ChainOK, page.Error = false, err.Error()
	}
	for _, r := range recs {
		page.Records = append(page.Records, admin.AuditRecord{Seq: r.Seq, Time: r.Time, Source: r.Source, Action: r.Action,
			Subject: r.Subject, Outcome: r.Outcome, Details: r.Details, PrevHash: hex.EncodeToString(r.PrevHash[:]), Hash: hex.EncodeToString(r.Hash[:])})
	}
	return page, nil
}

// AuditVerify implements admin.Controller.
func (c *control) AuditVerify(ctx context.Context) (admin.AuditVerification, error) {
	n, err := c.audit.Verify(ctx)
	v := admin.AuditVerification{Verified: n, ChainOK: err == nil}
	var ce *audit.ChainError
	switch {
	case err == nil:
	case errors.As(err, &ce):
		v.FirstBad, v.Error = ce.Seq, ce.Error()
	default:
		return v, err
	}
	return v, nil
}

// Now implements admin.Controller.
func (c *control) Now() time.Time { return c.now() }

// load re-reads the configuration file and validates it as `config
// validate` does, each plugin's own block included (only blocks named in
// only, when given). A file with any error yields an *admin.RefusedError.
// Settings outside plugin blocks only take effect at the next start, which
// is logged.
func (c *control) load(ctx context.Context, only ...string) (*config.Config, error) {
	cfg, diags := config.Load(c.path, c.getenv)
	if !diags.HasErrors() {
		for _, p := range cfg.Plugins {
			if len(only) == 0 || slices.Contains(only, p.Name) {
				diags = append(diags, c.validate(ctx, p)...)
			}
		}
	}
	if diags.HasErrors() {
		return nil, &admin.RefusedError{Diagnostics: strings.Split(strings.TrimSuffix(config.FormatDiagnostics(diags), "\n"), "\n")}
	}
	c.mu.Lock()
	old := c.cfg
	c.mu.Unlock()
	if !sameDaemonSettings(old, cfg) {
		c.log.Warn().Msg("settings outside plugin blocks changed; they take effect at the next daemon start")
	}
	return cfg, nil
}

// refused records and logs a reload that changed nothing.
func (c *control) refused(ctx context.Context, subject string, err error) {
	var re *admin.RefusedError
	if errors.As(err, &re) {
		c.record(ctx, "config.reload", subject, "rejected", map[string]any{"diagnostics": len(re.Diagnostics)})
		c.log.Error().Strs("diagnostics", re.Diagnostics).Msg("reload refused: the configuration has errors; nothing was changed")
	}
}

// Reload implements admin.Controller: every plugin's block is validated
// before anything is applied, so a file with any error changes nothing.
func (c *control) Reload(ctx context.Context) ([]supervisor.PluginChange, error) {
	cfg, err := c.load(ctx)
	if err != nil {
		c.refused(ctx, "", err)
		return nil, err
	}
	changes, err := c.sup.Reload(ctx, cfg.Plugins)
	c.mu.Lock()
	c.cfg = cfg
	c.mu.Unlock()
	outcome := "ok"
	if err != nil {
		outcome = "partial"
	}
	c.record(ctx, "config.reload", "", outcome, map[string]any{"changes": changes})
	c.log.Info().Interface("changes", changes).Err(err).Msg("configuration reloaded")
	return changes, err
}

// ReloadPlugin implements admin.Controller.
func (c *control) ReloadPlugin(ctx context.Context, name string) (supervisor.PluginChange, error) {
	cfg, err := c.load(ctx, name)
	if err != nil {
		c.refused(ctx, name, err)
		return supervisor.PluginChange{Name: name}, err
	}
	spec := cfg.FindPlugin(name)
	if spec == nil {
		return supervisor.PluginChange{Name: name}, fmt.Errorf("%w: %q is not in %s", supervisor.ErrUnknownPlugin, name, c.path)
	}
	ch, err := c.sup.ReloadPlugin(ctx, *spec)
	c.log.Info().Interface("change", ch).Err(err).Msg("plugin reloaded")
	return ch, err
}

// record appends a daemon event; the audit log stamps it with attested time.
func (c *control) record(ctx context.Context, action, subject, outcome string, details map[string]any) {
	raw, _ := json.Marshal(details)
	if _, err := c.audit.Append(ctx, audit.Event{Source: audit.SourceDaemon, Action: action,
		Subject: subject, Outcome: outcome, Details: raw}); err != nil {
		c.log.Error().Err(err).Msg("audit append failed")
	}
}

// watchHUP reloads on SIGHUP until ctx ends.
func (c *control) watchHUP(ctx context.Context) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGHUP)
	defer signal.Stop(ch)
	for {
		select {
		case <-ctx.Done():
			return
		case <-ch:
			c.log.Info().Msg("SIGHUP: reloading configuration")
			if _, err := c.Reload(ctx); err != nil {
				c.log.Error().Err(err).Msg("reload failed; plugins that could not be swapped keep running")
			}
		}
	}
}

// sameDaemonSettings compares what a reload cannot change.
func sameDaemonSettings(a, b *config.Config) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.DataDir == b.DataDir && a.Gateway == b.Gateway && a.RNG == b.RNG && a.Admin == b.Admin &&
		a.Clock.MaxAge == b.Clock.MaxAge && a.Clock.Source == b.Clock.Source && a.Clock.RefreshURL == b.Clock.RefreshURL &&
		a.Clock.AuthorityFingerprint == b.Clock.AuthorityFingerprint && a.Log == b.Log
}
