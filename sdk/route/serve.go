package route

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"

	"github.com/aunsorm/aunsorm/sdk/apierror"
	"github.com/aunsorm/aunsorm/sdk/plugin"
)

// ErrTable reports a table that cannot be served as declared (a programming
// error, found when the handler is built).
var ErrTable = errors.New("route: invalid table")

// segment is one part of a path template: a literal, or a {name} parameter.
type segment struct {
	literal string
	param   string
}

// parseTemplate splits a template such as /keys/{id}/versions.
func parseTemplate(path string) ([]segment, error) {
	if !strings.HasPrefix(path, "/") {
		return nil, fmt.Errorf("%w: path %q must start with '/'", ErrTable, path)
	}
	var segs []segment
	for _, p := range strings.Split(path[1:], "/") {
		switch {
		case strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}"):
			name := p[1 : len(p)-1]
			if name == "" || strings.ContainsAny(name, "{}") {
				return nil, fmt.Errorf("%w: path %q has an empty or nested parameter", ErrTable, path)
			}
			segs = append(segs, segment{param: name})
		case strings.ContainsAny(p, "{}"):
			return nil, fmt.Errorf("%w: path %q: a parameter must be a whole segment", ErrTable, path)
		case p != url.PathEscape(p) && p != "":
			return nil, fmt.Errorf("%w: path %q: literal segments must need no escaping", ErrTable, path)
		default:
			segs = append(segs, segment{literal: p})
		}
	}
	return segs, nil
}

// canonicalTemplate names every parameter alike, so /a/{x} and /a/{y} clash.
func canonicalTemplate(path string) string {
	segs, _ := parseTemplate(path)
	var b strings.Builder
	for _, s := range segs {
		b.WriteByte('/')
		if s.param != "" {
			b.WriteString("{}")
		} else {
			b.WriteString(s.literal)
		}
	}
	return b.String()
}

// compiled is a route ready to match.
type compiled struct {
	route    *Route
	segs     []segment
	literals int
}

// match reports whether the escaped path's segments fit, and the decoded
// parameters. Literal segments compare with the escaped form, so an
// encoded '/' (%2F) never splits or joins segments, and no path is cleaned:
// "//x" or "/a/../b" match nothing.
func (c *compiled) match(parts []string) (map[string]string, bool) {
	if len(parts) != len(c.segs) {
		return nil, false
	}
	var params map[string]string
	for i, s := range c.segs {
		if s.param == "" {
			if parts[i] != s.literal {
				return nil, false
			}
			continue
		}
		v, err := url.PathUnescape(parts[i])
		if err != nil || v == "" {
			return nil, false
		}
		if params == nil {
			params = map[string]string{}
		}
		params[s.param] = v
	}
	return params, true
}

type paramsKey struct{}

// Handler checks the table and returns the handler serving it, the
// document at DocumentPath included.
func (t *Table) Handler() (http.Handler, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	doc, err := t.Document()
	if err != nil {
		return nil, err
	}
	routes := append([]Route{Raw(http.MethodGet, t.DocumentPath(), "", "application/json", func(w http.ResponseWriter, _ *http.Request) error {
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		_, _ = w.Write(doc)
		return nil
	})}, t.Routes...)
	var cs []compiled
	for i := range routes {
		segs, _ := parseTemplate(routes[i].path)
		c := compiled{route: &routes[i], segs: segs}
		for _, s := range segs {
			if s.param == "" {
				c.literals++
			}
		}
		cs = append(cs, c)
	}
	return &router{table: t, routes: cs}, nil
}

// MustHandler is Handler for a table known to be valid: it panics on an
// invalid one, which is a programming error found by the first test.
func (t *Table) MustHandler() http.Handler {
	h, err := t.Handler()
	if err != nil {
		panic(err)
	}
	return h
}

type router struct {
	table  *Table
	routes []compiled
}

func (rt *router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.EscapedPath()
	if !strings.HasPrefix(p, "/") {
		apierror.Write(w, r, apierror.NoEndpoint())
		return
	}
	parts := strings.Split(p[1:], "/")
	method := r.Method
	if method == http.MethodHead {
		method = http.MethodGet
	}
	var (
		best    *compiled
		params  map[string]string
		allowed []string
	)
	for i := range rt.routes {
		c := &rt.routes[i]
		ps, ok := c.match(parts)
		if !ok {
			continue
		}
		allowed = append(allowed, c.route.method)
		if c.route.method == http.MethodGet {
			allowed = append(allowed, http.MethodHead)
		}
		if c.route.method == method && (best == nil || c.literals > best.literals) {
			best, params = c, ps
		}
	}
	switch {
	case best != nil:
		if params != nil {
			r = r.WithContext(contextWithParams(r, params))
		}
		best.route.serve(rt.table, best.route, w, r)
	case len(allowed) > 0:
		apierror.WriteMethodNotAllowed(w, r, dedupe(allowed)...)
	default:
		apierror.Write(w, r, apierror.NoEndpoint())
	}
}

func dedupe(in []string) []string {
	var out []string
	for _, s := range in {
		dup := false
		for _, o := range out {
			dup = dup || o == s
		}
		if !dup {
			out = append(out, s)
		}
	}
	return out
}

// PathValue returns the decoded path parameter name of the matched route,
// for Raw handlers ("" when there is none).
func PathValue(r *http.Request, name string) string {
	ps, _ := r.Context().Value(paramsKey{}).(map[string]string)
	return ps[name]
}

// serveJSON decodes, validates, calls the operation and writes its answer.
func serveJSON[Req, Resp any](t *Table, rt *Route, h Handler[Req, Resp], w http.ResponseWriter, r *http.Request) {
	req := new(Req)
	if err := decodeRequest(t, rt, r, reflect.ValueOf(req).Elem()); err != nil {
		apierror.Write(w, r, err)
		return
	}
	resp, err := h(r, req)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if rt.respType.Kind() == reflect.Struct && rt.respType.NumField() == 0 && rt.status == http.StatusNoContent {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	apierror.WriteJSON(w, rt.status, resp)
}

// writeError writes err in the JSON error shape; plugin.WriteError logs
// the cause of anything that is not an *apierror.Error with the request id
// and answers a 500 that says nothing more.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	plugin.WriteError(w, r, err)
}

// decodeRequest fills req from the path, the query and the body.
func decodeRequest(t *Table, rt *Route, r *http.Request, req reflect.Value) error {
	if err := decodeQuery(r, req); err != nil {
		return err
	}
	if err := decodePath(r, req); err != nil {
		return err
	}
	if rt.consumes == "application/json" {
		if err := apierror.DecodeJSON(r, t.MaxBody, req.Addr().Interface()); err != nil {
			return err
		}
	}
	return validate(req, "")
}
