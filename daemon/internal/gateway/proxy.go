package gateway

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/aunsorm/aunsorm/daemon/internal/supervisor"
	"github.com/aunsorm/aunsorm/daemon/internal/upstream"
	"github.com/aunsorm/aunsorm/sdk/apierror"
	"github.com/aunsorm/aunsorm/sdk/calibration"
	"github.com/aunsorm/aunsorm/sdk/plugin"
)

// proxy forwards a request to the plugin owning its path, over that
// plugin's current upstream pool (so a swap takes effect for the very next
// request).
type proxy struct {
	sup     *supervisor.Supervisor
	timeout time.Duration
	maxBody int64
	log     zerolog.Logger
}

func newProxy(sup *supervisor.Supervisor, timeout time.Duration, maxBody int64, log zerolog.Logger) *proxy {
	return &proxy{sup: sup, timeout: timeout, maxBody: maxBody, log: log}
}

// hopHeaders are meaningful only for one connection and never forwarded
// in either direction (RFC 9110 §7.6.1), nor is Expect: the gateway has
// read the body already.
var hopHeaders = []string{
	"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade", "Expect",
}

// stripHop removes the hop-by-hop fields, including those Connection names.
func stripHop(h http.Header) {
	for _, v := range h["Connection"] {
		for _, f := range strings.Split(v, ",") {
			if f = strings.TrimSpace(f); f != "" {
				h.Del(f)
			}
		}
	}
	for _, k := range hopHeaders {
		delete(h, k)
	}
}

// gatewaySet are the response fields the gateway has set itself before
// proxying (request id, attested time and age); the plugin's are dropped so
// the client sees each once.
func gatewaySet(k string) bool {
	return k == apierror.RequestIDHeader || k == calibration.HeaderAttestedTime || k == calibration.HeaderAttestationAge
}

var bodyPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

var copyPool = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

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
	// The (size-limited) body is read whole before anything is sent, so a
	// request can be sent again on a new connection when the plugin closed
	// the first one unread (during a swap, for one).
	if r.ContentLength > p.maxBody {
		apierror.Write(w, r, apierror.TooLarge(p.maxBody))
		return
	}
	buf := bodyPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= 1<<20 {
			bodyPool.Put(buf)
		}
	}()
	if r.Body != nil && r.Body != http.NoBody {
		if r.ContentLength > 0 {
			buf.Grow(int(r.ContentLength))
		}
		if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, p.maxBody)); err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				apierror.Write(w, r, apierror.TooLarge(p.maxBody))
			} else {
				apierror.Write(w, r, apierror.BadRequest("the request body could not be read"))
			}
			return
		}
	}

	// The request's own header map becomes the upstream one: hop-by-hop
	// fields out, X-Forwarded-* set from what the gateway saw.
	h := r.Header
	stripHop(h)
	delete(h, plugin.CallerHeader) // only the daemon names a calling plugin
	// The plugin answers with the attested time the gateway stamped (one
	// time per request); a client cannot supply it.
	delete(h, calibration.HeaderForwardedTime)
	if now, ok := calibration.Now(r.Context()); ok {
		h[calibration.HeaderForwardedTime] = []string{strconv.FormatInt(now.UnixMilli(), 10)}
	}
	h["X-Forwarded-For"] = []string{clientIP(r)}
	if r.Host != "" {
		h["X-Forwarded-Host"] = []string{r.Host}
	} else {
		delete(h, "X-Forwarded-Host")
	}
	if r.TLS != nil {
		h["X-Forwarded-Proto"] = []string{"https"}
	} else {
		h["X-Forwarded-Proto"] = []string{"http"}
	}
	req := upstream.Request{
		Method:   r.Method,
		URI:      r.URL.RequestURI(),
		Host:     r.Host,
		Header:   h,
		Body:     buf.Bytes(),
		Deadline: time.Now().Add(p.timeout),
		Remote:   r.RemoteAddr,
		Scheme:   h["X-Forwarded-Proto"][0],
	}
	resp, err := m.Upstream().Do(r.Context(), &req)
	if err != nil {
		p.upstreamError(w, r, m.Name(), err)
		return
	}
	defer resp.Body.Close()

	out := w.Header()
	stripHop(resp.Header)
	for k, vv := range resp.Header {
		if gatewaySet(k) || k == "Content-Length" {
			continue
		}
		out[k] = vv
	}
	if resp.ContentLength >= 0 {
		out["Content-Length"] = []string{strconv.FormatInt(resp.ContentLength, 10)}
	}
	w.WriteHeader(resp.StatusCode)

	cb := copyPool.Get().(*[]byte)
	defer copyPool.Put(cb)
	for {
		n, rerr := resp.Body.Read(*cb)
		if n > 0 {
			if _, werr := w.Write((*cb)[:n]); werr != nil {
				panic(http.ErrAbortHandler) // the client went away mid-body
			}
		}
		if rerr == io.EOF {
			return
		}
		if rerr != nil {
			// The status line is out; all that is left is to cut the
			// response short so the client sees it incomplete.
			p.log.Warn().Err(rerr).Str("plugin", m.Name()).Str("path", r.URL.Path).Msg("upstream body cut short")
			panic(http.ErrAbortHandler)
		}
	}
}

// upstreamError maps a failed exchange to the JSON error shape: 504 at the
// upstream deadline, 503 when the plugin is not reachable or went away
// mid-request, 502 when it answered something that is not HTTP.
func (p *proxy) upstreamError(w http.ResponseWriter, r *http.Request, name string, err error) {
	var ue *upstream.Error
	kind := upstream.KindUnreachable
	if errors.As(err, &ue) {
		kind = ue.Kind
	}
	switch kind {
	case upstream.KindTimeout:
		apierror.Write(w, r, apierror.New(http.StatusGatewayTimeout, "upstream_timeout", "the "+name+" service did not answer in time"))
	case upstream.KindCanceled:
		// The client went away; nobody reads this.
		w.WriteHeader(499)
	case upstream.KindRequest:
		apierror.Write(w, r, apierror.BadRequest("the request cannot be forwarded: a header field is not valid"))
	case upstream.KindProtocol:
		p.log.Warn().Err(err).Str("plugin", name).Str("path", r.URL.Path).Msg("upstream protocol error")
		apierror.Write(w, r, apierror.New(http.StatusBadGateway, "bad_gateway", "the "+name+" service answered with an invalid response"))
	default:
		p.log.Warn().Err(err).Str("plugin", name).Str("path", r.URL.Path).Msg("upstream error")
		apierror.Write(w, r, apierror.Unavailable("plugin_unavailable", "the "+name+" service is not reachable; retry shortly", 1))
	}
}
