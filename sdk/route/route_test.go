package route

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/rs/zerolog"

	"github.com/aunsorm/aunsorm/sdk/apierror"
)

type createItem struct {
	Name  string   `json:"name" api:"required,maxlen=8" doc:"The item's name."`
	Kind  string   `json:"kind,omitempty" api:"enum=small|large" doc:"Its size."`
	Count *int     `json:"count,omitempty" api:"min=1,max=10"`
	Data  []byte   `json:"data,omitempty" api:"base64url,maxlen=4"`
	Tags  []string `json:"tags,omitempty" api:"maxlen=2"`
	Sub   *subItem `json:"sub,omitempty"`
}

type subItem struct {
	Label string `json:"label" api:"required"`
}

type item struct {
	ID    int64    `json:"id"`
	Name  string   `json:"name"`
	Kind  string   `json:"kind,omitempty"`
	Data  string   `json:"data,omitempty" api:"base64url"`
	Notes []string `json:"notes"`
}

type getItem struct {
	ID     int64  `path:"id" json:"-" api:"min=1" doc:"The item's id."`
	Detail bool   `query:"detail" json:"-"`
	Fields string `query:"fields" json:"-" api:"enum=all|short"`
}

type search struct {
	Q     string `query:"q" json:"-" api:"required,minlen=1"`
	Limit int64  `query:"limit" json:"-" api:"min=1,max=100"`
}

func testTable() *Table {
	return &Table{
		Title: "Widgets", Version: "1.0.0", Prefix: "/w", MaxBody: 256,
		Routes: []Route{
			JSON(http.MethodPost, "/w/items", func(_ *http.Request, req *createItem) (*item, error) {
				if req.Name == "taken" {
					return nil, apierror.New(http.StatusConflict, "exists", "an item of that name exists")
				}
				if req.Name == "boom" {
					return nil, errors.New("a secret cause")
				}
				it := &item{ID: 7, Name: req.Name, Kind: req.Kind, Notes: req.Tags}
				if req.Data != nil {
					it.Data = apierror.Base64URL.EncodeToString(req.Data)
				}
				return it, nil
			}).Doc("Create an item", "Creates it.").
				Fails(http.StatusConflict, "exists", "An item of that name exists.").
				Status(http.StatusCreated),
			JSON(http.MethodGet, "/w/items/{id}", func(_ *http.Request, req *getItem) (*item, error) {
				if req.ID == 404 {
					return nil, apierror.NotFound("no such item")
				}
				return &item{ID: req.ID, Name: "n", Notes: []string{req.Fields}}, nil
			}).Fails(http.StatusNotFound, "not_found", "No such item."),
			JSON(http.MethodDelete, "/w/items/{id}", func(_ *http.Request, req *getItem) (*struct{}, error) {
				return &struct{}{}, nil
			}),
			JSON(http.MethodGet, "/w/items/search", func(_ *http.Request, req *search) (*[]item, error) {
				return &[]item{{ID: req.Limit, Name: req.Q, Notes: nil}}, nil
			}),
			Raw(http.MethodPost, "/w/cert", "application/pkix-cert", "application/pem-certificate-chain", func(w http.ResponseWriter, r *http.Request) error {
				if r.Header.Get("Content-Type") != "application/pkix-cert" {
					return apierror.New(http.StatusUnsupportedMediaType, "unsupported_media_type", "send application/pkix-cert")
				}
				w.Header().Set("Content-Type", "application/pem-certificate-chain")
				_, _ = io.WriteString(w, "-----BEGIN CERTIFICATE-----\n")
				return nil
			}),
		},
	}
}

// validator checks answers against the table's own document with
// kin-openapi, as the e2e suite does through the gateway.
type validator struct {
	doc    *openapi3.T
	router routers.Router
}

func newValidator(t testing.TB, raw []byte) *validator {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(raw)
	if err != nil {
		t.Fatalf("load the document: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the document is not valid OpenAPI: %v", err)
	}
	doc.Servers = openapi3.Servers{{URL: "http://example.test"}}
	r, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return &validator{doc: doc, router: r}
}

func (v *validator) check(t testing.TB, req *http.Request, rec *httptest.ResponseRecorder) {
	t.Helper()
	if req.Method == http.MethodHead {
		return
	}
	u := *req.URL
	u.Scheme, u.Host = "http", "example.test"
	r2 := req.Clone(context.Background())
	r2.URL = &u
	rt, params, err := v.router.FindRoute(r2)
	if err != nil {
		return // a path the document does not describe (a 404)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: r2, PathParams: params, Route: rt,
			Options: &openapi3filter.Options{ExcludeRequestBody: true, ExcludeRequestQueryParams: true, SkipSettingDefaults: true},
		},
		Status: rec.Code, Header: rec.Header(), Body: io.NopCloser(bytes.NewReader(rec.Body.Bytes())),
		Options: &openapi3filter.Options{IncludeResponseStatus: false},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		t.Fatalf("%s %s: the answer %d %s does not match the document: %v", req.Method, req.URL, rec.Code, rec.Body, err)
	}
}

func TestServe(t *testing.T) {
	tab := testTable()
	h := tab.MustHandler()
	doc, err := tab.Document()
	if err != nil {
		t.Fatal(err)
	}
	v := newValidator(t, doc)
	tests := []struct {
		name, method, target, ct, body string
		status                         int
		want                           string // a substring of the body
	}{
		{"ok/create", "POST", "/w/items", "application/json", `{"name":"a","kind":"small","count":3,"data":"_-8","tags":["x"],"sub":{"label":"l"}}`, 201, `"data":"_-8"`},
		{"ok/create-minimal", "POST", "/w/items", "", `{"name":"a"}`, 201, `"notes":null`},
		{"ok/get", "GET", "/w/items/12?detail=true&fields=short", "", "", 200, `"id":12`},
		{"ok/get-escaped-param", "GET", "/w/items/%31%32", "", "", 200, `"id":12`},
		{"ok/head", "HEAD", "/w/items/12", "", "", 200, ""},
		{"ok/delete", "DELETE", "/w/items/3", "", "", 200, `{}`},
		{"ok/literal-wins", "GET", "/w/items/search?q=x&limit=5", "", "", 200, `"name":"x"`},
		{"ok/raw", "POST", "/w/cert", "application/pkix-cert", "\x30\x00", 200, "BEGIN CERTIFICATE"},
		{"ok/document", "GET", "/w/openapi.json", "", "", 200, `"openapi": "3.1.0"`},
		{"fail/required", "POST", "/w/items", "", `{"kind":"small"}`, 400, `field \"name\" is required`},
		{"fail/required-nested", "POST", "/w/items", "", `{"name":"a","sub":{}}`, 400, `field \"sub.label\" is required`},
		{"fail/enum", "POST", "/w/items", "", `{"name":"a","kind":"huge"}`, 400, `field \"kind\" must be one of: small, large`},
		{"fail/min", "POST", "/w/items", "", `{"name":"a","count":0}`, 400, `field \"count\" must be between 1 and 10, got 0`},
		{"fail/maxlen", "POST", "/w/items", "", `{"name":"abcdefghi"}`, 400, `field \"name\" must be at most 8 characters, got 9`},
		{"fail/maxlen-bytes", "POST", "/w/items", "", `{"name":"a","data":"AAAAAAA"}`, 400, `field \"data\" must be at most 4 bytes, got 5`},
		{"fail/maxlen-items", "POST", "/w/items", "", `{"name":"a","tags":["1","2","3"]}`, 400, `field \"tags\" must be at most 2 items, got 3`},
		{"fail/base64url", "POST", "/w/items", "", `{"name":"a","data":"AA=="}`, 400, `remove the trailing '='`},
		{"fail/unknown-field", "POST", "/w/items", "", `{"name":"a","x":1}`, 400, `unknown field \"x\"`},
		{"fail/duplicate-key", "POST", "/w/items", "", `{"name":"a","name":"b"}`, 400, `duplicate key \"name\"`},
		{"fail/key-case", "POST", "/w/items", "", `{"Name":"a"}`, 400, `keys are case-sensitive`},
		{"fail/nesting", "POST", "/w/items", "", `{"name":"a","sub":` + strings.Repeat("[", 80) + `}`, 400, "nesting limit"},
		{"fail/too-large", "POST", "/w/items", "", `{"name":"` + strings.Repeat("a", 300) + `"}`, 413, "request_too_large"},
		{"fail/media-type", "POST", "/w/items", "text/plain", `{"name":"a"}`, 415, "unsupported_media_type"},
		{"fail/handler-error", "POST", "/w/items", "", `{"name":"taken"}`, 409, `"error":"exists"`},
		{"fail/internal-hides-cause", "POST", "/w/items", "", `{"name":"boom"}`, 500, `"error":"internal_error"`},
		{"fail/path-param-type", "GET", "/w/items/x1", "", "", 400, `path parameter \"id\" must be a decimal integer`},
		{"fail/path-param-min", "GET", "/w/items/0", "", "", 400, `path parameter \"id\" must be at least 1, got 0`},
		{"fail/not-found-from-handler", "GET", "/w/items/404", "", "", 404, "no such item"},
		{"fail/query-unknown", "GET", "/w/items/1?x=1", "", "", 400, `unknown query parameter \"x\"`},
		{"fail/query-twice", "GET", "/w/items/1?detail=true&detail=false", "", "", 400, `given more than once`},
		{"fail/query-bool", "GET", "/w/items/1?detail=yes", "", "", 400, `query parameter \"detail\" must be true or false`},
		{"fail/query-enum", "GET", "/w/items/1?fields=none", "", "", 400, `query parameter \"fields\" must be one of: all, short`},
		{"fail/query-required", "GET", "/w/items/search", "", "", 400, `query parameter \"q\" is required`},
		{"fail/query-leading-zero", "GET", "/w/items/search?q=a&limit=05", "", "", 400, `must be a decimal integer`},
		{"fail/query-overflow", "GET", "/w/items/search?q=a&limit=99999999999999999999", "", "", 400, `out of the int64 range`},
		{"fail/query-max", "GET", "/w/items/search?q=a&limit=101", "", "", 400, `query parameter \"limit\" must be between 1 and 100, got 101`},
		{"fail/query-malformed", "GET", "/w/items/search?q=%zz", "", "", 400, "malformed query string"},
		{"fail/method", "PUT", "/w/items/1", "", "", 405, "allowed: GET, HEAD, DELETE"},
		{"fail/method-post-only", "GET", "/w/items", "", "", 405, "allowed: POST"},
		{"fail/unknown-path", "GET", "/w/nothing", "", "", 404, "no endpoint at this path"},
		{"fail/double-slash", "POST", "//w/items", "", `{"name":"a"}`, 404, "no endpoint"},
		{"fail/dot-dot", "GET", "/w/x/../items/1", "", "", 404, "no endpoint"},
		{"fail/encoded-slash", "POST", "/w%2Fitems", "", `{"name":"a"}`, 404, "no endpoint"},
		{"fail/trailing-slash", "POST", "/w/items/", "", `{"name":"a"}`, 404, "no endpoint"},
		{"fail/empty-param", "GET", "/w/items/", "", "", 404, "no endpoint"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, "http://example.test/", strings.NewReader(tc.body))
			u, err := url.ParseRequestURI(tc.target)
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(tc.target, "//") {
				u.Host, u.Path, u.RawPath = "", tc.target, ""
			}
			req.URL, req.RequestURI = u, tc.target
			if tc.ct != "" {
				req.Header.Set("Content-Type", tc.ct)
			}
			req.Header.Set(apierror.RequestIDHeader, "rid-1")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			if !strings.Contains(rec.Body.String(), tc.want) {
				t.Fatalf("body %s lacks %s", rec.Body, tc.want)
			}
			if tc.status >= 400 {
				var e map[string]any
				if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e["request_id"] != "rid-1" || e["error_description"] == "" {
					t.Fatalf("not the error shape: %s", rec.Body)
				}
				if strings.Contains(rec.Body.String(), "secret") {
					t.Fatalf("the cause leaked: %s", rec.Body)
				}
			}
			if tc.status == 405 && rec.Header().Get("Allow") == "" {
				t.Fatal("405 without Allow")
			}
			v.check(t, req, rec)
		})
	}
}

func TestDocument(t *testing.T) {
	doc, err := testTable().Document()
	if err != nil {
		t.Fatal(err)
	}
	d := newValidator(t, doc).doc
	if d.OpenAPI != OpenAPIVersion || d.Info.Title != "Widgets" {
		t.Fatalf("info: %s %+v", d.OpenAPI, d.Info)
	}
	post := d.Paths.Find("/w/items").Post
	if post == nil || post.Summary != "Create an item" {
		t.Fatal("POST /w/items is missing or lacks its summary")
	}
	body := post.RequestBody.Value.Content.Get("application/json").Schema.Value
	if got := body.Required; len(got) != 1 || got[0] != "name" {
		t.Fatalf("required %v", got)
	}
	name := body.Properties["name"].Value
	if name.Description != "The item's name." || name.MaxLength == nil || *name.MaxLength != 8 {
		t.Fatalf("name: %+v", name)
	}
	if data := body.Properties["data"].Value; data.ContentEncoding != "base64url" || data.Pattern == "" {
		t.Fatalf("data: %+v", data)
	}
	answer := post.Responses.Status(201).Value.Content.Get("application/json").Schema.Value
	if data := answer.Properties["data"].Value; data.ContentEncoding != "base64url" || data.Pattern == "" || !data.Type.Is("string") {
		t.Fatalf("answer data: %+v", data)
	}
	if kind := body.Properties["kind"].Value; len(kind.Enum) != 2 {
		t.Fatalf("kind enum %v", kind.Enum)
	}
	if post.Responses.Status(201) == nil || post.Responses.Status(409) == nil || post.Responses.Default() == nil {
		t.Fatal("POST /w/items lacks 201, 409 or default")
	}
	if !strings.Contains(post.Responses.Status(409).Value.Content.Get("application/json").Schema.Ref, ErrorSchemaName) {
		t.Fatal("409 is not the error shape")
	}
	get := d.Paths.Find("/w/items/{id}").Get
	if len(get.Parameters) != 3 || get.Parameters[0].Value.In != "path" || get.Parameters[1].Value.In != "query" {
		t.Fatalf("parameters %+v", get.Parameters)
	}
	cert := d.Paths.Find("/w/cert").Post
	if cert.RequestBody.Value.Content.Get("application/pkix-cert") == nil || cert.Responses.Status(200).Value.Content.Get("application/pem-certificate-chain") == nil {
		t.Fatal("the raw route's content types are missing")
	}
	if d.Paths.Find("/w/openapi.json").Get == nil {
		t.Fatal("the document does not describe itself")
	}
}

func TestTableErrors(t *testing.T) {
	type withBytes struct {
		Key []byte `json:"key"`
	}
	type getBody struct {
		Name string `json:"name"`
	}
	type queryNoJSONDash struct {
		Q string `query:"q"`
	}
	type missingParam struct{}
	type badTag struct {
		N int `json:"n" api:"enum=a"`
	}
	type base64Int struct {
		N int `json:"n" api:"base64url"`
	}
	nop := func(*http.Request, *struct{}) (*struct{}, error) { return nil, nil }
	tests := []struct {
		name  string
		table Table
		want  string
	}{
		{"fail/prefix", Table{Prefix: "w/"}, "prefix"},
		{"fail/no-version", Table{Title: "W", Prefix: "/w"}, "version"},
		{"fail/duplicate", Table{Title: "W", Version: "1", Prefix: "/w", Routes: []Route{JSON("GET", "/w/a", nop), JSON("GET", "/w/a", nop)}}, "declared twice"},
		{"fail/duplicate-param-names", Table{Title: "W", Version: "1", Prefix: "/w", Routes: []Route{
			JSON("GET", "/w/{a}", func(*http.Request, *struct {
				A string `path:"a" json:"-"`
			}) (*struct{}, error) {
				return nil, nil
			}),
			JSON("GET", "/w/{b}", func(*http.Request, *struct {
				B string `path:"b" json:"-"`
			}) (*struct{}, error) {
				return nil, nil
			}),
		}}, "declared twice"},
		{"fail/document-path", Table{Title: "W", Version: "1", Prefix: "/w", Routes: []Route{JSON("GET", "/w/openapi.json", nop)}}, "declared twice"},
		{"fail/head", Table{Title: "W", Version: "1", Prefix: "/w", Routes: []Route{JSON("HEAD", "/w/a", nop)}}, "HEAD"},
		{"fail/lower-case-method", Table{Title: "W", Version: "1", Prefix: "/w", Routes: []Route{JSON("get", "/w/a", nop)}}, "upper-case"},
		{"fail/bytes-without-tag", Table{Title: "W", Version: "1", Prefix: "/w", Routes: []Route{JSON("POST", "/w/a", func(*http.Request, *withBytes) (*struct{}, error) { return nil, nil })}}, "base64url"},
		{"fail/get-with-body", Table{Title: "W", Version: "1", Prefix: "/w", Routes: []Route{JSON("GET", "/w/a", func(*http.Request, *getBody) (*struct{}, error) { return nil, nil })}}, "has no body"},
		{"fail/query-in-json", Table{Title: "W", Version: "1", Prefix: "/w", Routes: []Route{JSON("POST", "/w/a", func(*http.Request, *queryNoJSONDash) (*struct{}, error) { return nil, nil })}}, `json:"-"`},
		{"fail/missing-param-field", Table{Title: "W", Version: "1", Prefix: "/w", Routes: []Route{JSON("GET", "/w/{id}", func(*http.Request, *missingParam) (*struct{}, error) { return nil, nil })}}, "{id}"},
		{"fail/enum-on-int", Table{Title: "W", Version: "1", Prefix: "/w", Routes: []Route{JSON("POST", "/w/a", func(*http.Request, *badTag) (*struct{}, error) { return nil, nil })}}, "enum"},
		{"fail/base64url-on-int", Table{Title: "W", Version: "1", Prefix: "/w", Routes: []Route{JSON("POST", "/w/a", func(*http.Request, *base64Int) (*struct{}, error) { return nil, nil })}}, "base64url needs"},
		{"fail/partial-segment", Table{Title: "W", Version: "1", Prefix: "/w", Routes: []Route{JSON("GET", "/w/x{id}", nop)}}, "whole segment"},
		{"fail/zero-route", Table{Title: "W", Version: "1", Prefix: "/w", Routes: []Route{{}}}, "route.JSON"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.table.Handler()
			if !errors.Is(err, ErrTable) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrTable mentioning %q", err, tc.want)
			}
		})
	}
}

// FuzzServe sends arbitrary bodies, query strings and path parameters to
// the table: the handler never panics, answers only the declared statuses,
// and every answer matches the document.
func FuzzServe(f *testing.F) {
	for _, s := range [][3]string{
		{`{"name":"a","count":3}`, "", "1"}, {`{"name":"a","name":"a"}`, "x=1", "%31"}, {`{"NAME":"a"}`, "", "-1"},
		{`{"name":"a","sub":{"label":"x","label":"y"}}`, "", "01"}, {`[[[[`, "%", "%2F"}, {`{"data":"\u0000"}`, "", ""},
		{`{"count":1e999}`, "", "99999999999999999999"}, {``, "detail=true&fields=all", "search"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	tab := testTable()
	h := tab.MustHandler()
	doc, err := tab.Document()
	if err != nil {
		f.Fatal(err)
	}
	v := newValidator(f, doc)
	f.Fuzz(func(t *testing.T, body, query, segment string) {
		targets := []string{"/w/items", "/w/items/search"}
		if u, err := url.Parse("/w/items/" + segment); err == nil && u.Host == "" {
			targets = append(targets, u.EscapedPath())
		}
		for _, target := range targets {
			method := http.MethodPost
			if target != "/w/items" {
				method = http.MethodGet
			}
			req := httptest.NewRequest(method, "http://example.test/", strings.NewReader(body))
			u, err := url.Parse(target)
			if err != nil {
				t.Fatal(err)
			}
			u.RawQuery = query
			req.URL = u
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			switch rec.Code {
			case 200, 201, 400, 404, 409, 413, 500:
			default:
				t.Fatalf("%s: status %d: %s", target, rec.Code, rec.Body)
			}
			if rec.Code == 500 && !strings.Contains(body, "boom") {
				t.Fatalf("500 for %q: %s", body, rec.Body)
			}
			v.check(t, req, rec)
		}
	})
}

type macAnswer struct {
	MAC string `json:"mac"`
}

type validAnswer struct {
	Valid bool `json:"valid"`
}

// eitherAnswer is one of two shapes: fields promoted through an embedded
// pointer are optional in the document.
type eitherAnswer struct {
	*macAnswer
	*validAnswer
}

func TestEmbeddedPointerShapes(t *testing.T) {
	tab := &Table{Title: "E", Version: "1", Prefix: "/e", Routes: []Route{
		JSON(http.MethodGet, "/e/x", func(r *http.Request, req *struct {
			V bool `query:"valid" json:"-"`
		}) (*eitherAnswer, error) {
			if req.V {
				return &eitherAnswer{validAnswer: &validAnswer{Valid: false}}, nil
			}
			return &eitherAnswer{macAnswer: &macAnswer{MAC: "m"}}, nil
		}),
	}}
	doc, err := tab.Document()
	if err != nil {
		t.Fatal(err)
	}
	v := newValidator(t, doc)
	s := v.doc.Paths.Find("/e/x").Get.Responses.Status(200).Value.Content.Get("application/json").Schema.Value
	if len(s.Required) != 0 || s.Properties["mac"] == nil || s.Properties["valid"] == nil {
		t.Fatalf("schema %+v", s)
	}
	h := tab.MustHandler()
	for _, target := range []string{"/e/x", "/e/x?valid=true"} {
		req := httptest.NewRequest(http.MethodGet, target, nil)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			t.Fatalf("%s: %d %s", target, rec.Code, rec.Body)
		}
		v.check(t, req, rec)
	}
}

// TestValidatorCatchesMismatch makes sure the document check used here and
// in the e2e suite can fail: an answer with a field the document does not
// list is refused.
func TestValidatorCatchesMismatch(t *testing.T) {
	doc, err := testTable().Document()
	if err != nil {
		t.Fatal(err)
	}
	v := newValidator(t, doc)
	req := httptest.NewRequest(http.MethodGet, "/w/items/3", nil)
	rec := httptest.NewRecorder()
	apierror.WriteJSON(rec, http.StatusOK, map[string]any{"id": 3, "name": "n", "notes": nil, "extra": true})
	ft := &fakeT{TB: t}
	func() {
		defer func() { _ = recover() }()
		v.check(ft, req, rec)
	}()
	if !ft.failed {
		t.Fatal("an answer with an undocumented field passed the document check")
	}
}

// fakeT records a failure instead of ending the test.
type fakeT struct {
	testing.TB
	failed bool
}

func (f *fakeT) Helper() {}

func (f *fakeT) Fatalf(string, ...any) {
	f.failed = true
	panic("fatal")
}

// TestWholeBody: a non-struct request type is the whole body, decoded with
// the same strict rules.
func TestWholeBody(t *testing.T) {
	tab := &Table{Title: "E", Version: "1", Prefix: "/e", Routes: []Route{
		JSON(http.MethodPost, "/e/", func(_ *http.Request, req *json.RawMessage) (*json.RawMessage, error) { return req, nil }),
	}}
	h := tab.MustHandler()
	tests := []struct {
		name, body string
		status     int
	}{
		{"ok/array", `[1, {"a": "b"}]`, 200},
		{"ok/string", `"x"`, 200},
		{"fail/duplicate", `{"a":1,"a":2}`, 400},
		{"fail/two-values", `1 2`, 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/e/", strings.NewReader(tc.body)))
			if rec.Code != tc.status {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			if tc.status == 200 && strings.TrimSpace(rec.Body.String()) != strings.ReplaceAll(tc.body, " ", "") {
				t.Fatalf("echoed %s", rec.Body)
			}
		})
	}
	bad := Table{Title: "E", Version: "1", Prefix: "/e", Routes: []Route{
		JSON(http.MethodGet, "/e/", func(_ *http.Request, req *json.RawMessage) (*struct{}, error) { return nil, nil }),
	}}
	if _, err := bad.Handler(); !errors.Is(err, ErrTable) {
		t.Fatalf("a GET taking a whole body: %v", err)
	}
}

// TestInternalCauseLogged: a handler's own failure reaches the client as a
// bare 500 and the log (the plugin's, on the request context) with its
// cause and the request id.
func TestInternalCauseLogged(t *testing.T) {
	var logs bytes.Buffer
	h := testTable().MustHandler()
	req := httptest.NewRequest(http.MethodPost, "/w/items", strings.NewReader(`{"name":"boom"}`))
	req.Header.Set(apierror.RequestIDHeader, "rid-500")
	req = req.WithContext(zerolog.New(&logs).WithContext(req.Context()))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusInternalServerError || strings.Contains(rec.Body.String(), "secret") {
		t.Fatalf("answer %d %s", rec.Code, rec.Body)
	}
	if !strings.Contains(logs.String(), "a secret cause") || !strings.Contains(logs.String(), "rid-500") {
		t.Fatalf("the cause was not logged with the request id: %s", logs.String())
	}
}
