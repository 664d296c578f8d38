package admin

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gorilla/mux"
)

func TestZZTmpOrder(t *testing.T) {
	for _, pathFirst := range []bool{false, true} {
		r := mux.NewRouter()
		h := func(http.ResponseWriter, *http.Request) {}
		routes := [][2]string{{"GET", "/v1/plugins"}, {"POST", "/v1/plugins/{name}/reload"}, {"POST", "/v1/reload"}, {"GET", "/v1/config"}, {"GET", "/v1/runtime"}}
		for _, rt := range routes {
			if pathFirst {
				r.Path(rt[1]).Methods(rt[0]).HandlerFunc(h)
			} else {
				r.Methods(rt[0]).Path(rt[1]).HandlerFunc(h)
			}
		}
		r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(404) })
		r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(405) })
		for _, c := range [][2]string{{"GET", "/v1/reload"}, {"DELETE", "/v1/plugins"}, {"GET", "/v1/plugins/x/reload"}, {"POST", "/v1/config"}, {"POST", "/v1/runtime"}, {"GET", "/v1/nope"}, {"GET", "/v1/plugins"}, {"POST", "/v1/reload"}} {
			rec := httptest.NewRecorder()
			r.ServeHTTP(rec, httptest.NewRequest(c[0], c[1], nil))
			t.Logf("pathFirst=%v %s %s -> %d", pathFirst, c[0], c[1], rec.Code)
		}
	}
}
