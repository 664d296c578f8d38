package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// documents holds, per gateway base URL, the published OpenAPI document
// that do() checks every answer against.
var documents struct {
	sync.Mutex
	byBase map[string]*published
}

// published is a gateway's /openapi.json, ready to match requests.
type published struct {
	doc    *openapi3.T
	router routers.Router
}

// fetchDocument GETs and loads base's /openapi.json.
func fetchDocument(base string) (*published, error) {
	resp, err := http.Get(base + "/openapi.json")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /openapi.json: status %d", resp.StatusCode)
	}
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		return nil, err
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, err
	}
	doc.Servers = openapi3.Servers{{URL: base}}
	r, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, err
	}
	return &published{doc: doc, router: r}, nil
}

// document returns base's document, fetching it again when fresh is set
// (after a swap the plugins may publish another one).
func document(base string, fresh bool) (*published, error) {
	documents.Lock()
	defer documents.Unlock()
	if documents.byBase == nil {
		documents.byBase = map[string]*published{}
	}
	if p, ok := documents.byBase[base]; ok && !fresh {
		return p, nil
	}
	p, err := fetchDocument(base)
	if err != nil {
		return nil, err
	}
	documents.byBase[base] = p
	return p, nil
}

// checkDocumented fails the test when a gateway answer does not match the
// document the gateway publishes: status, content type and body schema of
// the operation the request matched. Answers to paths and methods the
// document does not describe (404s, 405s, the gateway's own /health) and
// HEAD answers (no body) are not checked.
func checkDocumented(t testing.TB, req *http.Request, r response) {
	t.Helper()
	if req.Method == http.MethodHead || req.URL.Path == "/openapi.json" {
		return
	}
	base := req.URL.Scheme + "://" + req.URL.Host
	p, err := document(base, false)
	if err != nil {
		// A gateway that cannot serve its document right now (rate
		// limited, stopping) leaves this answer unchecked.
		t.Logf("%s %s: not checked against /openapi.json: %v", req.Method, req.URL.Path, err)
		return
	}
	err = p.validate(req, r)
	var nr errNoRoute
	if errors.As(err, &nr) {
		return
	}
	if err != nil {
		// After a swap the plugins may publish another document.
		if p, ferr := document(base, true); ferr == nil {
			err = p.validate(req, r)
		}
	}
	if err != nil {
		t.Fatalf("%s %s: the answer %d %s does not match the published /openapi.json: %v", req.Method, req.URL.Path, r.status, clipBody(r.body), err)
	}
}

// errNoRoute marks a request the document does not describe.
type errNoRoute struct{ error }

func (e errNoRoute) Error() string { return "no route: " + e.error.Error() }

func (p *published) validate(req *http.Request, r response) error {
	rt, params, err := p.router.FindRoute(req)
	if err != nil {
		return errNoRoute{err}
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: req, PathParams: params, Route: rt,
			Options: &openapi3filter.Options{ExcludeRequestBody: true, ExcludeRequestQueryParams: true},
		},
		Status: r.status, Header: r.header, Body: io.NopCloser(bytes.NewReader(r.body)),
		Options: &openapi3filter.Options{},
	}
	return openapi3filter.ValidateResponse(context.Background(), in)
}

func clipBody(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "..."
	}
	return string(b)
}

// TestOpenAPIDocument: the gateway's /openapi.json merges the running
// plugins' documents, is valid OpenAPI 3.1, and follows a swap.
func TestOpenAPIDocument(t *testing.T) {
	d := startDaemon(t, daemonOpts{Plugins: map[string]string{"crypto": "", "pqc": ""}})
	r := do(t, http.MethodGet, d.url+"/openapi.json", nil)
	if r.status != http.StatusOK || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET /openapi.json: %d %s", r.status, r.header.Get("Content-Type"))
	}
	p, err := document(d.url, true)
	if err != nil {
		t.Fatalf("the published document: %v", err)
	}
	if p.doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi %q", p.doc.OpenAPI)
	}
	for _, path := range []string{"/crypto/encrypt", "/crypto/random", "/random/number", "/crypto/openapi.json",
		"/pqc/capabilities", "/pqc/ml-kem/keygen", "/pqc/slh-dsa/verify", "/pqc/openapi.json"} {
		if p.doc.Paths.Find(path) == nil {
			t.Errorf("%s is not in the merged document", path)
		}
	}
	version := func(p *published) string {
		for _, tag := range p.doc.Tags {
			if tag.Name == "crypto" {
				return tag.Description
			}
		}
		return ""
	}
	if v := version(p); !strings.HasSuffix(v, " 0.1.0") {
		t.Fatalf("crypto tag %q", v)
	}
	// Each plugin's own document is reachable through the gateway too.
	if r := do(t, http.MethodGet, d.url+"/pqc/openapi.json", nil); r.status != 200 || !bytes.Contains(r.body, []byte(`"/pqc/ml-dsa/sign"`)) {
		t.Fatalf("GET /pqc/openapi.json: %d", r.status)
	}

	// A swap publishes the new version's document.
	setPluginCommand(t, d, bins.plugins["crypto"], bins.plugins["crypto-v2"])
	if out, err := exec.Command(bins.daemon, "reload", "-config", d.cfgPath).CombinedOutput(); err != nil {
		t.Fatalf("reload: %v\n%s", err, out)
	}
	p, err = document(d.url, true)
	if err != nil {
		t.Fatal(err)
	}
	if v := version(p); !strings.HasSuffix(v, " 2.0.0-swapped") {
		t.Fatalf("after the swap the crypto tag is %q", v)
	}

	// The check do() applies can fail: an answer the document does not
	// allow is caught.
	req, _ := http.NewRequest(http.MethodPost, d.url+"/crypto/hash", nil)
	bad := response{status: 200, header: http.Header{"Content-Type": {"application/json"}}, body: []byte(`{"digest":1}`)}
	if err := p.validate(req, bad); err == nil {
		t.Fatal("a digest of the wrong type passed the document check")
	}
	u, _ := url.Parse(d.url + "/crypto/hash")
	if err := p.validate(&http.Request{Method: http.MethodPost, URL: u}, response{status: 200, header: bad.header, body: []byte(`{"digest":"AA"}`)}); err != nil {
		t.Fatalf("a good answer failed the document check: %v", err)
	}
}
