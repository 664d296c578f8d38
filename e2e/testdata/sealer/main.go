// Command sealer is a test plugin that keeps secrets sealed with
// plugin.Env.Sealer, one file per secret under its data directory, for the
// end-to-end tests of the sealing barrier. Its route prefix comes from
// -prefix so that several instances run side by side.
//
//	PUT  <prefix>secrets/{id}  {"value": "..."}        seal and store (AAD "secrets/{id}")
//	GET  <prefix>secrets/{id}                          open; re-seals a stale value on the way
//	POST <prefix>open          {"aad": "...", "sealed": "<base64url>"}  open a value given inline
//	POST <prefix>reseal                                ResealAll over every stored secret
package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sync"

	"github.com/aunsorm/aunsorm/sdk/apierror"
	"github.com/aunsorm/aunsorm/sdk/plugin"
	"github.com/aunsorm/aunsorm/sdk/seal"
)

var version = "1.0.0"

var idPattern = regexp.MustCompile(`^[a-z0-9-]{1,64}$`)

type sealerPlugin struct{ prefix string }

func (p sealerPlugin) Describe() plugin.Descriptor {
	return plugin.Descriptor{Name: "aunsorm-test-sealer", Kind: "sealer", Version: version, Routes: []string{p.prefix}}
}

func (p sealerPlugin) Configure(_ context.Context, env *plugin.Env) (http.Handler, error) {
	if env.ValidateOnly {
		return nil, nil
	}
	if env.Sealer == nil {
		return nil, errors.New("sealer: the host sent no sealing keys")
	}
	dir := filepath.Join(env.DataDir, "secrets")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	h := &handler{s: env.Sealer, t: &fileTable{dir: dir}}
	mux := http.NewServeMux()
	mux.HandleFunc("PUT "+p.prefix+"secrets/{id}", h.put)
	mux.HandleFunc("GET "+p.prefix+"secrets/{id}", h.get)
	mux.HandleFunc("POST "+p.prefix+"open", h.open)
	mux.HandleFunc("POST "+p.prefix+"reseal", h.reseal)
	return mux, nil
}

type handler struct {
	s *seal.Sealer
	t *fileTable
}

func aad(id string) []byte { return []byte("secrets/" + id) }

func (h *handler) put(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var body struct {
		Value string `json:"value"`
	}
	if !idPattern.MatchString(id) {
		apierror.Write(w, r, apierror.BadRequest("id must match %s", idPattern))
		return
	}
	if err := apierror.DecodeJSON(r, 0, &body); err != nil {
		apierror.Write(w, r, err)
		return
	}
	sealed, err := h.s.Seal(aad(id), []byte(body.Value))
	if err == nil {
		err = h.t.write(id, sealed)
	}
	if err != nil {
		apierror.Write(w, r, err)
		return
	}
	v, _ := seal.Version(sealed)
	apierror.WriteJSON(w, http.StatusOK, map[string]any{"id": id, "version": v, "sealed": base64.RawURLEncoding.EncodeToString(sealed)})
}

func (h *handler) get(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !idPattern.MatchString(id) {
		apierror.Write(w, r, apierror.BadRequest("id must match %s", idPattern))
		return
	}
	sealed, err := h.t.read(id)
	if errors.Is(err, os.ErrNotExist) {
		apierror.Write(w, r, apierror.NotFound("no secret %q", id))
		return
	}
	if err != nil {
		apierror.Write(w, r, err)
		return
	}
	v, _ := seal.Version(sealed)
	pt, stale, err := h.s.Open(aad(id), sealed)
	if err != nil {
		apierror.Write(w, r, refusal(err))
		return
	}
	if stale { // re-seal on the way, as a plugin does when it writes the row
		if next, err := h.s.Seal(aad(id), pt); err == nil {
			_, _ = h.t.Replace(r.Context(), id, sealed, next)
		}
	}
	apierror.WriteJSON(w, http.StatusOK, map[string]any{"id": id, "value": string(pt), "version": v, "stale": stale})
}

func (h *handler) open(w http.ResponseWriter, r *http.Request) {
	var body struct {
		AAD    string `json:"aad"`
		Sealed string `json:"sealed"`
	}
	if err := apierror.DecodeJSON(r, 0, &body); err != nil {
		apierror.Write(w, r, err)
		return
	}
	sealed, err := apierror.DecodeBase64URL("sealed", body.Sealed)
	if err != nil {
		apierror.Write(w, r, err)
		return
	}
	pt, stale, err := h.s.Open([]byte(body.AAD), sealed)
	if err != nil {
		apierror.Write(w, r, refusal(err))
		return
	}
	apierror.WriteJSON(w, http.StatusOK, map[string]any{"value": string(pt), "stale": stale})
}

func (h *handler) reseal(w http.ResponseWriter, r *http.Request) {
	st, err := h.s.ResealAll(r.Context(), h.t, 4)
	if err != nil {
		apierror.Write(w, r, refusal(err))
		return
	}
	apierror.WriteJSON(w, http.StatusOK, st)
}

// refusal maps the sealer's errors; the descriptions carry no secret.
func refusal(err error) error {
	switch {
	case errors.Is(err, seal.ErrRefused):
		return apierror.New(http.StatusUnprocessableEntity, "sealed_value_refused", "the sealed value does not authenticate for this row and plugin")
	case errors.Is(err, seal.ErrUnknownVersion):
		return apierror.New(http.StatusUnprocessableEntity, "sealed_value_unknown_version", "the sealed value is under a key version this plugin does not hold")
	case errors.Is(err, seal.ErrMalformed):
		return apierror.New(http.StatusUnprocessableEntity, "sealed_value_malformed", "the value is not a sealed value")
	}
	return err
}

// fileTable keeps one file per secret and implements seal.Table.
type fileTable struct {
	dir string
	mu  sync.Mutex
}

var _ seal.Table = (*fileTable)(nil)

func (t *fileTable) read(id string) ([]byte, error) { return os.ReadFile(filepath.Join(t.dir, id)) }

// write replaces a secret durably: temporary file, fsync, rename, fsync dir.
func (t *fileTable) write(id string, data []byte) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.writeLocked(id, data)
}

func (t *fileTable) writeLocked(id string, data []byte) error {
	tmp, err := os.CreateTemp(t.dir, ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), filepath.Join(t.dir, id)); err != nil {
		return err
	}
	d, err := os.Open(t.dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Scan implements seal.Table.
func (t *fileTable) Scan(_ context.Context, after string, limit int) ([]seal.Row, error) {
	entries, err := os.ReadDir(t.dir)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, e := range entries {
		if idPattern.MatchString(e.Name()) && e.Name() > after {
			ids = append(ids, e.Name())
		}
	}
	slices.Sort(ids)
	var rows []seal.Row
	for _, id := range ids[:min(limit, len(ids))] {
		b, err := t.read(id)
		if err != nil {
			return nil, err
		}
		rows = append(rows, seal.Row{ID: id, AAD: aad(id), Sealed: b})
	}
	return rows, nil
}

// Replace implements seal.Table.
func (t *fileTable) Replace(_ context.Context, id string, prev, next []byte) (bool, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	cur, err := t.read(id)
	if err != nil || !bytes.Equal(cur, prev) {
		return false, err
	}
	return true, t.writeLocked(id, next)
}

func main() {
	prefix := flag.String("prefix", "/sealer/", "route prefix")
	flag.Parse()
	plugin.Serve(sealerPlugin{prefix: *prefix})
}
