// Package route is a plugin's API declared as a table: each line names a
// method, a path (with {name} parameters), typed request and response
// structs, and the errors it answers with. From that one table the package
// serves the API and generates its OpenAPI 3.1 document.
//
// Serving applies the platform's rules to every route: strict JSON decoding
// (sdk/apierror.UnmarshalStrict: no unknown fields, duplicate keys, keys in
// another case or deep nesting; []byte fields tagged `api:"base64url"`),
// strict query strings, declared validation, HEAD for every GET, 404 with
// apierror.NoEndpoint, 405 naming the allowed methods, and the JSON error
// shape for every failure.
//
// A request struct takes its fields from three places, by tag:
//
//	type getKeyRequest struct {
//		ID      string `path:"id" json:"-"`               // /keys/{id}
//		Version int    `query:"version" json:"-" api:"min=1"`
//		Note    string `json:"note" api:"maxlen=200" doc:"Shown in the audit log."`
//	}
//
// The `api` tag declares validation, checked after decoding and published
// in the document: required, enum=a|b|c, min=N and max=N (numbers), minlen=N
// and maxlen=N (characters of a string, bytes of a base64url field, items of
// a list) and base64url. The `doc` tag is the field's description.
//
// On a []byte field, base64url makes the SDK decode the field (strict
// base64url without padding). On a string field it only documents the
// encoding: the handler decodes the field itself, with
// apierror.DecodeBase64URL, when and in the order it chooses.
// "required" means present and not the zero value (a pointer field that is
// not nil); use a pointer for a required number whose zero is meaningful.
package route

import (
	"fmt"
	"net/http"
	"reflect"
	"strings"
)

// Route is one line of the table. Build it with JSON or Raw and refine it
// with Doc, Fails and Status; each returns a changed copy.
type Route struct {
	method      string
	path        string
	summary     string
	description string
	status      int
	errors      []ErrorDoc
	// consumes and produces are the body content types; empty for no body.
	consumes string
	produces string
	reqType  reflect.Type // nil for a raw route
	respType reflect.Type // nil for a raw route or no body
	serve    func(t *Table, rt *Route, w http.ResponseWriter, r *http.Request)
}

// ErrorDoc is an error answer a route declares: its status, its code and
// when it happens.
type ErrorDoc struct {
	Status      int
	Code        string
	Description string
}

// Handler is an operation of a JSON route: it gets the decoded and
// validated request and returns the response body or an error (an
// *apierror.Error, or anything else for a 500 with a fixed description).
type Handler[Req, Resp any] func(r *http.Request, req *Req) (*Resp, error)

// JSON declares a route with a typed request and a JSON response. For GET,
// HEAD and DELETE the request struct takes only path and query fields;
// otherwise its JSON fields are the request body. Use struct{} for a route
// that takes nothing.
func JSON[Req, Resp any](method, path string, h Handler[Req, Resp]) Route {
	rt := Route{
		method: method, path: path, status: http.StatusOK,
		reqType: reflect.TypeFor[Req](), respType: reflect.TypeFor[Resp](),
		produces: "application/json",
	}
	if hasBody(method) && hasJSONFields(rt.reqType) {
		rt.consumes = "application/json"
	}
	rt.serve = func(t *Table, rt *Route, w http.ResponseWriter, r *http.Request) {
		serveJSON(t, rt, h, w, r)
	}
	return rt
}

// Raw declares a route whose wire format is not JSON (a DER or PEM body, a
// form post, a JWS): the handler reads the request and writes the answer
// itself; consumes and produces are the content types the document
// publishes (empty for no body). Errors it returns are written in the JSON
// error shape.
func Raw(method, path, consumes, produces string, h func(w http.ResponseWriter, r *http.Request) error) Route {
	rt := Route{method: method, path: path, status: http.StatusOK, consumes: consumes, produces: produces}
	rt.serve = func(_ *Table, _ *Route, w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			writeError(w, r, err)
		}
	}
	return rt
}

// Doc sets the route's summary (one line) and description.
func (rt Route) Doc(summary, description string) Route {
	rt.summary, rt.description = summary, description
	return rt
}

// Fails declares an error answer of the route.
func (rt Route) Fails(status int, code, description string) Route {
	rt.errors = append(append([]ErrorDoc(nil), rt.errors...), ErrorDoc{Status: status, Code: code, Description: description})
	return rt
}

// Status sets the status of a successful answer (200 by default).
func (rt Route) Status(code int) Route {
	rt.status = code
	return rt
}

// Method is the route's method.
func (rt Route) Method() string { return rt.method }

// Path is the route's path template.
func (rt Route) Path() string { return rt.path }

func hasBody(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodDelete:
		return false
	}
	return true
}

// Table is a plugin's whole API.
type Table struct {
	// Title and Version describe the API in the document.
	Title   string
	Version string
	// Description is the document's introduction (Markdown).
	Description string
	// Prefix is the plugin's path prefix without its trailing slash
	// ("/crypto"); the document is served at Prefix + "/openapi.json".
	Prefix string
	// MaxBody caps a JSON request body (apierror.DefaultMaxBody when zero).
	MaxBody int64
	// Routes are the lines of the table.
	Routes []Route
}

// DocumentPath is where the table's OpenAPI document is served.
func (t *Table) DocumentPath() string { return t.Prefix + "/openapi.json" }

// check refuses a table that cannot be served as declared.
func (t *Table) check() error {
	if t.Prefix == "" || !strings.HasPrefix(t.Prefix, "/") || strings.HasSuffix(t.Prefix, "/") {
		return fmt.Errorf("%w: prefix %q must start with '/' and not end with one", ErrTable, t.Prefix)
	}
	if t.Title == "" || t.Version == "" {
		return fmt.Errorf("%w: the table needs a title and a version for its document", ErrTable)
	}
	seen := map[string]bool{t.DocumentPath() + " GET": true}
	for _, rt := range t.Routes {
		if rt.serve == nil {
			return fmt.Errorf("%w: a route was not built with route.JSON or route.Raw", ErrTable)
		}
		if _, err := parseTemplate(rt.path); err != nil {
			return err
		}
		if rt.method == "" || rt.method == http.MethodHead || strings.ToUpper(rt.method) != rt.method {
			return fmt.Errorf("%w: %s %s: the method must be an upper-case name other than HEAD (every GET answers HEAD)", ErrTable, rt.method, rt.path)
		}
		key := canonicalTemplate(rt.path) + " " + rt.method
		if seen[key] {
			return fmt.Errorf("%w: %s %s is declared twice", ErrTable, rt.method, rt.path)
		}
		seen[key] = true
		if rt.reqType != nil {
			if err := checkRequestType(rt); err != nil {
				return err
			}
		}
	}
	return nil
}
