package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/rs/zerolog"

	"github.com/aunsorm/aunsorm/daemon/internal/supervisor"
	"github.com/aunsorm/aunsorm/daemon/internal/upstream"
	"github.com/aunsorm/aunsorm/sdk/apierror"
)

// DocumentPath is where the gateway serves the merged OpenAPI document.
const DocumentPath = "/openapi.json"

// maxPluginDocument bounds one plugin's document.
const maxPluginDocument = 4 << 20

// openAPI merges the documents the running plugins publish at
// <prefix>openapi.json (sdk/route) into one. A plugin's document is fetched
// through its upstream pool and kept until the pool changes: a swap, a
// reload that starts a new process, or a restart after a crash all install
// a new pool, so the next request fetches the new version's document.
type openAPI struct {
	sup     *supervisor.Supervisor
	timeout time.Duration
	log     zerolog.Logger

	mu    sync.Mutex
	cache map[string]pluginDocument // by plugin name
}

// pluginDocument is one plugin's document as fetched from pool; doc is nil
// for a plugin that publishes none.
type pluginDocument struct {
	pool *upstream.Pool
	doc  *openapi3.T
}

func newOpenAPI(sup *supervisor.Supervisor, timeout time.Duration, log zerolog.Logger) *openAPI {
	return &openAPI{sup: sup, timeout: timeout, log: log, cache: map[string]pluginDocument{}}
}

// ServeHTTP answers GET /openapi.json with the merged document.
func (o *openAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	doc, err := o.merged(r.Context())
	if err != nil {
		o.log.Error().Err(err).Msg("openapi: merging the documents failed")
		apierror.Write(w, r, apierror.Internal())
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(doc)
}

// merged builds the document of every running plugin: their paths side by
// side (the supervisor already refuses a prefix claimed twice) and their
// component schemas, the shared error shape once.
func (o *openAPI) merged(ctx context.Context) ([]byte, error) {
	prefixes := map[*supervisor.Managed][]string{}
	var plugins []*supervisor.Managed
	for _, rt := range o.sup.Routes() {
		if _, seen := prefixes[rt.Plugin]; !seen {
			plugins = append(plugins, rt.Plugin)
		}
		prefixes[rt.Plugin] = append(prefixes[rt.Plugin], rt.Prefix)
	}
	sort.Slice(plugins, func(i, j int) bool { return plugins[i].Name() < plugins[j].Name() })

	out := &openapi3.T{
		OpenAPI: "3.1.0",
		Info: &openapi3.Info{
			Title:       "Aunsorm",
			Version:     "1",
			Description: "The API of every running plugin, merged from the documents each publishes at <prefix>openapi.json.",
		},
		Paths:      openapi3.NewPaths(),
		Components: &openapi3.Components{Schemas: openapi3.Schemas{}},
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, m := range plugins {
		if m.Status() != supervisor.StatusRunning {
			continue
		}
		doc := o.document(ctx, m, prefixes[m])
		if doc == nil {
			continue
		}
		// One tag per plugin names it and the version serving.
		out.Tags = append(out.Tags, &openapi3.Tag{Name: m.Name(), Description: doc.Info.Title + " " + doc.Info.Version})
		for path, item := range doc.Paths.Map() {
			for _, op := range item.Operations() {
				op.Tags = []string{m.Name()}
			}
			out.Paths.Set(path, item)
		}
		if doc.Components != nil {
			for name, s := range doc.Components.Schemas {
				if _, dup := out.Components.Schemas[name]; !dup {
					out.Components.Schemas[name] = s
				}
			}
		}
	}
	return json.Marshal(out)
}

// document returns m's document, fetching it when its pool changed.
func (o *openAPI) document(ctx context.Context, m *supervisor.Managed, prefixes []string) *openapi3.T {
	pool := m.Upstream()
	if c, ok := o.cache[m.Name()]; ok && c.pool == pool {
		return c.doc
	}
	var doc *openapi3.T
	for _, p := range prefixes {
		d, found, err := o.fetch(ctx, pool, p+"openapi.json")
		if err != nil {
			// Not cached: the next request tries again.
			o.log.Warn().Err(err).Str("plugin", m.Name()).Msg("openapi: the plugin's document is left out")
			return nil
		}
		if found {
			doc = d
			break
		}
	}
	o.cache[m.Name()] = pluginDocument{pool: pool, doc: doc}
	return doc
}

// fetch GETs one document; found is false for a plugin that has none (404).
func (o *openAPI) fetch(ctx context.Context, pool *upstream.Pool, uri string) (*openapi3.T, bool, error) {
	resp, err := pool.Do(ctx, &upstream.Request{
		Method: http.MethodGet, URI: uri, Host: "aunsorm", Scheme: "http",
		Header:   http.Header{"Accept": {"application/json"}},
		Deadline: time.Now().Add(o.timeout),
	})
	if err != nil {
		return nil, false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return nil, false, nil
	}
	if resp.StatusCode != http.StatusOK {
		return nil, false, fmt.Errorf("GET %s: status %d", uri, resp.StatusCode)
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxPluginDocument+1))
	if err != nil {
		return nil, false, err
	}
	if len(raw) > maxPluginDocument {
		return nil, false, fmt.Errorf("GET %s: the document exceeds %d bytes", uri, maxPluginDocument)
	}
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		return nil, false, fmt.Errorf("GET %s: %w", uri, err)
	}
	if err := doc.Validate(ctx); err != nil {
		return nil, false, fmt.Errorf("GET %s: not a valid OpenAPI document: %w", uri, err)
	}
	return doc, true, nil
}
