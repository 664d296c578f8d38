package config

import (
	"fmt"
	"math"
	"math/big"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// source records where an effective value came from, so a validation error
// points at the attribute or names the environment variable that set it.
type source struct {
	rng *hcl.Range // the attribute's value in the file
	env string     // the environment variable that set it
}

// parser carries one Load or Parse call.
type parser struct {
	filename string
	src      []byte
	getenv   func(string) string
	cfg      *Config
	diags    hcl.Diagnostics
	// from maps a dotted key ("gateway.listen", "plugin.0.listen") to where
	// its value came from; keys of values left at their default are absent.
	from map[string]source
	// blocks maps a block key ("gateway", "gateway.tls", "plugin.0") to the
	// block's header range.
	blocks map[string]hcl.Range
}

var (
	rootSchema = &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{{Name: "data_dir"}},
		Blocks: []hcl.BlockHeaderSchema{
			{Type: "log"},
			{Type: "gateway"},
			{Type: "clock"},
			{Type: "rng"},
			{Type: "admin"},
			{Type: "storage"},
			{Type: "seal"},
			{Type: "plugin", LabelNames: []string{"name"}},
		},
	}
	logSchema = &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{{Name: "level"}, {Name: "format"}, {Name: "flush_interval"}},
	}
	gatewaySchema = &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{
			{Name: "listen"},
			{Name: "max_body_bytes"},
			{Name: "read_timeout"},
			{Name: "write_timeout"},
			{Name: "idle_timeout"},
			{Name: "upstream_timeout"},
		},
		Blocks: []hcl.BlockHeaderSchema{{Type: "tls"}, {Type: "rate_limit"}},
	}
	tlsSchema = &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{
			{Name: "cert_file"}, {Name: "key_file"}, {Name: "dev"}, {Name: "disabled"},
		},
	}
	rateLimitSchema = &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{{Name: "requests_per_second"}, {Name: "burst"}},
	}
	clockSchema = &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{
			{Name: "max_age"},
			{Name: "source"},
			{Name: "refresh_url"},
			{Name: "authority_fingerprint"},
			{Name: "ntp_servers"},
		},
	}
	rngSchema = &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{{Name: "reseed_interval"}},
	}
	adminSchema = &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{{Name: "socket"}, {Name: "listen"}, {Name: "token_file"}},
	}
	pluginSchema = &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{
			{Name: "command", Required: true},
			{Name: "args"},
			{Name: "sha256"},
			{Name: "listen"},
			{Name: "env"},
			{Name: "health_interval"},
			{Name: "health_timeout"},
			{Name: "health_failures"},
			{Name: "max_crashes"},
			{Name: "crash_window"},
			{Name: "backoff_max"},
			{Name: "drain_timeout"},
			{Name: "sandbox"},
			{Name: "sandbox_read"},
			{Name: "sandbox_write"},
			{Name: "sandbox_connect"},
			{Name: "user"},
			{Name: "group"},
		},
		Blocks: []hcl.BlockHeaderSchema{{Type: "config"}},
	}
)

// decodeRoot decodes the file's top level into p.cfg.
func (p *parser) decodeRoot(body *hclsyntax.Body) {
	p.blocks = map[string]hcl.Range{}
	content, diags := body.Content(rootSchema)
	p.diags = append(p.diags, diags...)
	p.str(content.Attributes, "data_dir", "data_dir", "string", &p.cfg.DataDir)
	for _, b := range content.Blocks {
		if b.Type == "plugin" {
			p.decodePlugin(b)
			continue
		}
		if !p.singleton(b, b.Type) {
			continue
		}
		switch b.Type {
		case "log":
			p.decodeLog(b)
		case "gateway":
			p.decodeGateway(b)
		case "clock":
			p.decodeClock(b)
		case "rng":
			p.decodeRNG(b)
		case "admin":
			p.decodeAdmin(b)
		case "storage":
			p.decodeStorage(b)
		case "seal":
			p.decodeSeal(b)
		}
	}
}

// singleton records a block that may appear at most once and reports
// whether this is its first occurrence.
func (p *parser) singleton(b *hcl.Block, key string) bool {
	if first, dup := p.blocks[key]; dup {
		p.diags = append(p.diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  fmt.Sprintf("Duplicate %s block", b.Type),
			Detail:   fmt.Sprintf("Only one %s block is allowed here; the first is at %s.", b.Type, posString(first)),
			Subject:  b.DefRange.Ptr(),
		})
		return false
	}
	p.blocks[key] = b.DefRange
	return true
}

func (p *parser) decodeLog(b *hcl.Block) {
	content, diags := b.Body.Content(logSchema)
	p.diags = append(p.diags, diags...)
	p.str(content.Attributes, "level", "log.level", "string", &p.cfg.Log.Level)
	p.str(content.Attributes, "format", "log.format", "string", &p.cfg.Log.Format)
	p.duration(content.Attributes, "flush_interval", "log.flush_interval", &p.cfg.Log.FlushInterval)
}

func (p *parser) decodeGateway(b *hcl.Block) {
	content, diags := b.Body.Content(gatewaySchema)
	p.diags = append(p.diags, diags...)
	g := &p.cfg.Gateway
	a := content.Attributes
	p.str(a, "listen", "gateway.listen", "string", &g.Listen)
	p.integer(a, "max_body_bytes", "gateway.max_body_bytes", &g.MaxBodyBytes)
	p.duration(a, "read_timeout", "gateway.read_timeout", &g.ReadTimeout)
	p.duration(a, "write_timeout", "gateway.write_timeout", &g.WriteTimeout)
	p.duration(a, "idle_timeout", "gateway.idle_timeout", &g.IdleTimeout)
	p.duration(a, "upstream_timeout", "gateway.upstream_timeout", &g.UpstreamTimeout)
	for _, inner := range content.Blocks {
		if !p.singleton(inner, "gateway."+inner.Type) {
			continue
		}
		switch inner.Type {
		case "tls":
			p.decodeTLS(inner)
		case "rate_limit":
			p.decodeRateLimit(inner)
		}
	}
}

func (p *parser) decodeTLS(b *hcl.Block) {
	content, diags := b.Body.Content(tlsSchema)
	p.diags = append(p.diags, diags...)
	t := &p.cfg.Gateway.TLS
	a := content.Attributes
	var dev, disabled bool
	devSet := p.boolean(a, "dev", "gateway.tls.dev", &dev)
	p.boolean(a, "disabled", "gateway.tls.disabled", &disabled)
	p.str(a, "cert_file", "gateway.tls.cert_file", "string", &t.CertFile)
	p.str(a, "key_file", "gateway.tls.key_file", "string", &t.KeyFile)
	_, hasCert := p.from["gateway.tls.cert_file"]
	_, hasKey := p.from["gateway.tls.key_file"]
	files := hasCert || hasKey
	switch {
	case disabled && (files || dev):
		p.errAt("gateway.tls.disabled", nil, "Conflicting TLS settings",
			"disabled = true cannot be combined with dev = true or with cert_file and key_file.")
	case dev && files:
		p.errAt("gateway.tls.dev", nil, "Conflicting TLS settings",
			"dev = true issues a development certificate; it cannot be combined with cert_file and key_file.")
	case files:
		t.Mode = TLSFiles
		if hasCert {
			p.from["gateway.tls.mode"] = p.from["gateway.tls.cert_file"]
		} else {
			p.from["gateway.tls.mode"] = p.from["gateway.tls.key_file"]
		}
	case disabled:
		t.Mode = TLSDisabled
		p.from["gateway.tls.mode"] = p.from["gateway.tls.disabled"]
	case devSet && !dev:
		p.errAt("gateway.tls.dev", nil, "Incomplete TLS settings",
			"dev = false needs cert_file and key_file, or disabled = true for plain HTTP.")
	default:
		t.Mode = TLSDev
		if devSet {
			p.from["gateway.tls.mode"] = p.from["gateway.tls.dev"]
		}
	}
}

func (p *parser) decodeRateLimit(b *hcl.Block) {
	content, diags := b.Body.Content(rateLimitSchema)
	p.diags = append(p.diags, diags...)
	r := &p.cfg.Gateway.RateLimit
	p.float(content.Attributes, "requests_per_second", "gateway.rate_limit.requests_per_second", &r.RequestsPerSecond)
	var burst int64
	if p.integer(content.Attributes, "burst", "gateway.rate_limit.burst", &burst) {
		if burst > math.MaxInt32 || burst < math.MinInt32 {
			p.errAt("gateway.rate_limit.burst", nil, "Invalid rate limit", "burst is out of range.")
			return
		}
		r.Burst = int(burst)
	}
}

func (p *parser) decodeClock(b *hcl.Block) {
	content, diags := b.Body.Content(clockSchema)
	p.diags = append(p.diags, diags...)
	c := &p.cfg.Clock
	a := content.Attributes
	p.duration(a, "max_age", "clock.max_age", &c.MaxAge)
	p.str(a, "source", "clock.source", "string", &c.Source)
	p.str(a, "refresh_url", "clock.refresh_url", "string", &c.RefreshURL)
	p.str(a, "authority_fingerprint", "clock.authority_fingerprint", "string", &c.AuthorityFingerprint)
	p.strings(a, "ntp_servers", "clock.ntp_servers", &c.NTPServers)
}

func (p *parser) decodeRNG(b *hcl.Block) {
	content, diags := b.Body.Content(rngSchema)
	p.diags = append(p.diags, diags...)
	p.duration(content.Attributes, "reseed_interval", "rng.reseed_interval", &p.cfg.RNG.ReseedInterval)
}

func (p *parser) decodeAdmin(b *hcl.Block) {
	content, diags := b.Body.Content(adminSchema)
	p.diags = append(p.diags, diags...)
	ad := &p.cfg.Admin
	a := content.Attributes
	p.str(a, "socket", "admin.socket", "string", &ad.Socket)
	p.str(a, "listen", "admin.listen", "string", &ad.Listen)
	p.str(a, "token_file", "admin.token_file", "string", &ad.TokenFile)
}

func (p *parser) decodePlugin(b *hcl.Block) {
	i := len(p.cfg.Plugins)
	key := fmt.Sprintf("plugin.%d", i)
	p.blocks[key] = b.DefRange
	p.from[key+".name"] = source{rng: b.LabelRanges[0].Ptr()}
	pl := Plugin{Name: b.Labels[0], DeclRange: b.DefRange}

	content, diags := b.Body.Content(pluginSchema)
	p.diags = append(p.diags, diags...)
	a := content.Attributes
	p.str(a, "command", key+".command", "string", &pl.Command)
	p.strings(a, "args", key+".args", &pl.Args)
	p.str(a, "sha256", key+".sha256", "string", &pl.SHA256)
	p.str(a, "listen", key+".listen", "string", &pl.Listen)
	p.stringMap(a, "env", key+".env", &pl.Env)
	pl.Sandbox.Mode = SandboxAuto
	p.str(a, "sandbox", key+".sandbox", "string", &pl.Sandbox.Mode)
	p.strings(a, "sandbox_read", key+".sandbox_read", &pl.Sandbox.Read)
	p.strings(a, "sandbox_write", key+".sandbox_write", &pl.Sandbox.Write)
	p.ports(a, "sandbox_connect", key+".sandbox_connect", &pl.Sandbox.Connect)
	p.str(a, "user", key+".user", "string", &pl.User)
	p.str(a, "group", key+".group", "string", &pl.Group)
	sv := &pl.Supervision
	p.duration(a, "health_interval", key+".health_interval", &sv.HealthInterval)
	p.duration(a, "health_timeout", key+".health_timeout", &sv.HealthTimeout)
	p.duration(a, "crash_window", key+".crash_window", &sv.CrashWindow)
	p.duration(a, "backoff_max", key+".backoff_max", &sv.BackoffMax)
	p.duration(a, "drain_timeout", key+".drain_timeout", &sv.DrainTimeout)
	var n int64
	if p.integer(a, "health_failures", key+".health_failures", &n) {
		if n < 1 || n > 100 {
			p.errAt(key+".health_failures", a["health_failures"].Expr.Range().Ptr(), "Invalid health_failures", "health_failures must be between 1 and 100.")
		}
		sv.HealthFailures = int(n)
	}
	if p.integer(a, "max_crashes", key+".max_crashes", &n) {
		if n < 1 || n > 10000 {
			p.errAt(key+".max_crashes", a["max_crashes"].Expr.Range().Ptr(), "Invalid max_crashes", "max_crashes must be between 1 and 10000.")
		}
		sv.MaxCrashes = int(n)
	}
	for _, inner := range content.Blocks {
		if !p.singleton(inner, key+".config") {
			continue
		}
		p.captureConfigBody(b.Body, inner, &pl)
	}
	p.cfg.Plugins = append(p.cfg.Plugins, pl)
}

// captureConfigBody stores the raw text between the braces of a plugin's
// config block without decoding it. The braces are taken from the syntax
// tree: a one-line block's body range covers only its attribute.
func (p *parser) captureConfigBody(pluginBody hcl.Body, b *hcl.Block, pl *Plugin) {
	var blk *hclsyntax.Block
	if body, ok := pluginBody.(*hclsyntax.Body); ok {
		for _, candidate := range body.Blocks {
			if candidate.TypeRange == b.TypeRange {
				blk = candidate
				break
			}
		}
	}
	var start, end int
	if blk != nil {
		start, end = blk.OpenBraceRange.End.Byte, blk.CloseBraceRange.Start.Byte
	}
	if blk == nil || start < 1 || end < start || end >= len(p.src) || p.src[start-1] != '{' || p.src[end] != '}' {
		p.diags = append(p.diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Unreadable config block",
			Detail:   "The plugin's config block could not be located in the source.",
			Subject:  b.DefRange.Ptr(),
		})
		return
	}
	pl.ConfigBody = append([]byte{}, p.src[start:end]...)
	pl.ConfigRange = hcl.Range{
		Filename: blk.OpenBraceRange.Filename,
		Start:    blk.OpenBraceRange.End,
		End:      blk.CloseBraceRange.Start,
	}
}

// eval evaluates a literal attribute (no variables or functions). It reports
// false when the value is null (treated as unset) or has errors.
func (p *parser) eval(a *hcl.Attribute) (cty.Value, bool) {
	v, diags := a.Expr.Value(nil)
	p.diags = append(p.diags, diags...)
	if diags.HasErrors() || v.IsNull() {
		return cty.NilVal, false
	}
	if !v.IsWhollyKnown() {
		p.typeErr(a, "a known value")
		return cty.NilVal, false
	}
	return v, true
}

func (p *parser) typeErr(a *hcl.Attribute, want string) {
	p.diags = append(p.diags, &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Incorrect attribute value type",
		Detail:   fmt.Sprintf("Inappropriate value for attribute %q: %s required.", a.Name, want),
		Subject:  a.Expr.Range().Ptr(),
	})
}

func (p *parser) set(a *hcl.Attribute, key string) {
	p.from[key] = source{rng: a.Expr.Range().Ptr()}
}

// attr looks up attribute name, evaluates it and checks its type with is
// (want names the expected type in the error). It reports false when the
// attribute is unset or null, or when a diagnostic was added.
func (p *parser) attr(attrs hcl.Attributes, name string, is func(cty.Type) bool, want string) (*hcl.Attribute, cty.Value, bool) {
	a, ok := attrs[name]
	if !ok {
		return nil, cty.NilVal, false
	}
	v, ok := p.eval(a)
	if !ok {
		return nil, cty.NilVal, false
	}
	if !is(v.Type()) {
		p.typeErr(a, want)
		return nil, cty.NilVal, false
	}
	return a, v, true
}

func isString(t cty.Type) bool { return t == cty.String }
func isBool(t cty.Type) bool   { return t == cty.Bool }
func isNumber(t cty.Type) bool { return t == cty.Number }
func isList(t cty.Type) bool   { return t.IsTupleType() || t.IsListType() }
func isMap(t cty.Type) bool    { return t.IsObjectType() || t.IsMapType() }

// str decodes a string attribute; want names the expected type in errors.
func (p *parser) str(attrs hcl.Attributes, name, key, want string, dst *string) bool {
	a, v, ok := p.attr(attrs, name, isString, want)
	if !ok {
		return false
	}
	*dst = v.AsString()
	p.set(a, key)
	return true
}

func (p *parser) boolean(attrs hcl.Attributes, name, key string, dst *bool) bool {
	a, v, ok := p.attr(attrs, name, isBool, "bool")
	if !ok {
		return false
	}
	*dst = v.True()
	p.set(a, key)
	return true
}

func (p *parser) integer(attrs hcl.Attributes, name, key string, dst *int64) bool {
	a, v, ok := p.attr(attrs, name, isNumber, "whole number")
	if !ok {
		return false
	}
	bf := v.AsBigFloat()
	n, acc := bf.Int64()
	if !bf.IsInt() || acc != big.Exact {
		p.typeErr(a, "whole number (64-bit)")
		return false
	}
	*dst = n
	p.set(a, key)
	return true
}

func (p *parser) float(attrs hcl.Attributes, name, key string, dst *float64) bool {
	a, v, ok := p.attr(attrs, name, isNumber, "number")
	if !ok {
		return false
	}
	f, _ := v.AsBigFloat().Float64()
	if math.IsInf(f, 0) || math.IsNaN(f) {
		p.typeErr(a, "finite number")
		return false
	}
	*dst = f
	p.set(a, key)
	return true
}

func (p *parser) duration(attrs hcl.Attributes, name, key string, dst *time.Duration) bool {
	var s string
	if !p.str(attrs, name, key, `duration string (e.g. "30s", "5m")`, &s) {
		return false
	}
	d, problem := parseDuration(s)
	if problem != "" {
		p.diags = append(p.diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid duration",
			Detail:   fmt.Sprintf("Attribute %q: %s.", name, problem),
			Subject:  attrs[name].Expr.Range().Ptr(),
		})
		return false
	}
	*dst = d
	return true
}

// stringElems calls add for each element of a list or map value, all of
// which must be non-null strings (want names the type in the error).
func (p *parser) stringElems(a *hcl.Attribute, v cty.Value, want string, add func(k cty.Value, e string)) bool {
	for it := v.ElementIterator(); it.Next(); {
		k, e := it.Element()
		if e.IsNull() || e.Type() != cty.String {
			p.typeErr(a, want)
			return false
		}
		add(k, e.AsString())
	}
	return true
}

// strings decodes a list (or tuple) of strings.
func (p *parser) strings(attrs hcl.Attributes, name, key string, dst *[]string) bool {
	a, v, ok := p.attr(attrs, name, isList, "list of strings")
	if !ok {
		return false
	}
	out := []string{}
	if !p.stringElems(a, v, "list of strings", func(_ cty.Value, e string) { out = append(out, e) }) {
		return false
	}
	*dst = out
	p.set(a, key)
	return true
}

// ports decodes a list of TCP port numbers (1–65535).
func (p *parser) ports(attrs hcl.Attributes, name, key string, dst *[]uint16) bool {
	const want = "list of port numbers (1-65535)"
	a, v, ok := p.attr(attrs, name, isList, want)
	if !ok {
		return false
	}
	out := []uint16{}
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		if e.IsNull() || !e.IsKnown() || e.Type() != cty.Number {
			p.typeErr(a, want)
			return false
		}
		n, acc := e.AsBigFloat().Int64()
		if !e.AsBigFloat().IsInt() || acc != big.Exact || n < 1 || n > 65535 {
			p.typeErr(a, want)
			return false
		}
		out = append(out, uint16(n))
	}
	*dst = out
	p.set(a, key)
	return true
}

// stringMap decodes an object (or map) whose values are strings.
func (p *parser) stringMap(attrs hcl.Attributes, name, key string, dst *map[string]string) bool {
	a, v, ok := p.attr(attrs, name, isMap, "map of strings")
	if !ok {
		return false
	}
	out := map[string]string{}
	if !p.stringElems(a, v, "map of strings", func(k cty.Value, e string) { out[k.AsString()] = e }) {
		return false
	}
	*dst = out
	p.set(a, key)
	return true
}

// parseDuration parses a Go duration string and rejects negative values. It
// returns a problem description instead of an error.
func parseDuration(s string) (time.Duration, string) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Sprintf("%q is not a duration; use a number with a unit such as \"30s\", \"5m\" or \"1h\"", truncate(s))
	}
	if d < 0 {
		return 0, fmt.Sprintf("%q is negative", truncate(s))
	}
	return d, ""
}

// truncate shortens a value quoted in a diagnostic.
func truncate(s string) string {
	const limit = 64
	if len(s) <= limit {
		return s
	}
	return s[:limit] + "..."
}

func posString(r hcl.Range) string {
	return fmt.Sprintf("%s:%d:%d", r.Filename, r.Start.Line, r.Start.Column)
}
