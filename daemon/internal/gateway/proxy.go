package gateway

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/aunsorm/aunsorm/daemon/internal/supervisor"
	"github.com/aunsorm/aunsorm/sdk/apierror"
	"github.com/aunsorm/aunsorm/sdk/calibration"
)

// proxy forwards a request to the plugin owning its path.
type proxy struct {
	sup     *supervisor.Supervisor
	timeout time.Duration
	maxBody int64
	log     zerolog.Logger
	rp      *httputil.ReverseProxy
}

type ctxPlugin struct{}

func newProxy(sup *supervisor.Supervisor, timeout time.Duration, maxBody int64, log zerolog.Logger) *proxy {
	p := &proxy{sup: sup, timeout: timeout, maxBody: maxBody, log: log}
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			m := pr.In.Context().Value(ctxPlugin{}).(*supervisor.Managed)
			pr.SetURL(&url.URL{Scheme: "http", Host: m.Addr()})
			pr.Out.Host = pr.In.Host
			pr.SetXForwarded()
		},
		Transport:      transportFunc(roundTrip),
		ModifyResponse: modifyResponse,
		ErrorHandler:   p.errorHandler,
		BufferPool:     &bufferPool{},
	}
	return p
}

// transportFunc sends through the plugin's current transport, so a swap
// takes effect for the very next request.
type transportFunc func(*http.Request) (*http.Response, error)

func (f transportFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func roundTrip(r *http.Request) (*http.Response, error) {
	m := r.Context().Value(ctxPlugin{}).(*supervisor.Managed)
	return m.Transport().RoundTrip(r)
}

// modifyResponse drops the headers the gateway already set before
// proxying (request id, attested time and age), so the client sees each once.
func modifyResponse(resp *http.Response) error {
	resp.Header.Del(apierror.RequestIDHeader)
	resp.Header.Del(calibration.HeaderAttestedTime)
	resp.Header.Del(calibration.HeaderAttestationAge)
	return nil
}

func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m, _, ok := p.sup.Match(r.URL.Path)
	if !ok {
		notFound(w, r)
		return
	}
	if st := m.Status(); st != supervisor.StatusRunning {
		apierror.Write(w, r, apierror.Unavailable("plugin_unavailable",
			"the "+m.Name()+" service is "+st+"; retry shortly", 1))
		return
	}
	// Buffer the (size-limited) body so net/http can replay a request that
	// was never written to a connection that went away during a swap.
	if r.ContentLength > p.maxBody {
		apierror.Write(w, r, apierror.TooLarge(p.maxBody))
		return
	}
	if r.Body != nil && r.Body != http.NoBody {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, p.maxBody))
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				apierror.Write(w, r, apierror.TooLarge(p.maxBody))
			} else {
				apierror.Write(w, r, apierror.BadRequest("the request body could not be read"))
			}
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		if len(body) == 0 {
			r.Body, r.GetBody = http.NoBody, nil
		}
	}
	ctx, cancel := context.WithTimeout(context.WithValue(r.Context(), ctxPlugin{}, m), p.timeout)
	defer cancel()
	p.rp.ServeHTTP(w, r.WithContext(ctx))
}

// errorHandler maps transport failures to the JSON error shape: 504 at the
// upstream deadline, 503 when the plugin went away mid-request.
func (p *proxy) errorHandler(w http.ResponseWriter, r *http.Request, err error) {
	m := r.Context().Value(ctxPlugin{}).(*supervisor.Managed)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		apierror.Write(w, r, apierror.New(http.StatusGatewayTimeout, "upstream_timeout", "the "+m.Name()+" service did not answer in time"))
	case errors.Is(err, context.Canceled):
		// The client went away; nobody reads this.
		w.WriteHeader(499)
	default:
		p.log.Warn().Err(err).Str("plugin", m.Name()).Str("path", r.URL.Path).Msg("upstream error")
		apierror.Write(w, r, apierror.Unavailable("plugin_unavailable", "the "+m.Name()+" service is not reachable; retry shortly", 1))
	}
}

// bufferPool recycles 32 KiB copy buffers.
type bufferPool struct{ p sync.Pool }

func (b *bufferPool) Get() []byte {
	if v, ok := b.p.Get().(*[]byte); ok {
		return *v
	}
	return make([]byte, 32<<10)
}

func (b *bufferPool) Put(buf []byte) { b.p.Put(&buf) }
