package main

import (
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"time"

	"github.com/rs/zerolog"

	"github.com/aunsorm/aunsorm/sdk/apierror"
	"github.com/aunsorm/aunsorm/sdk/calibration"
	"github.com/aunsorm/aunsorm/sdk/plugin"
)

// maxBody bounds a request body.
const maxBody = 64 << 10

// handler serves the plugin's API.
type handler struct {
	greeting string
	// rand is the plugin's DRBG (env.Rand): every id comes from it, never
	// from crypto/rand. It is safe for concurrent use.
	rand  io.Reader
	audit plugin.Auditor
	log   zerolog.Logger
}

// response is the body of a successful POST /echo/.
type response struct {
	ID            string          `json:"id"`
	Greeting      string          `json:"greeting"`
	AttestedTime  string          `json:"attested_time"`
	AuditSequence uint64          `json:"audit_sequence"`
	Echo          json.RawMessage `json:"echo"`
}

// newHandler returns the plugin's router. Unknown paths answer 404 and a
// known path with the wrong method 405, both in the JSON error shape.
func newHandler(cfg config, rand io.Reader, audit plugin.Auditor, log zerolog.Logger) http.Handler {
	h := &handler{greeting: cfg.Greeting, rand: rand, audit: audit, log: log}
	mux := http.NewServeMux()
	// The whole API, one line per route.
	mux.HandleFunc("POST /echo/{$}", h.echo)
	// The JSON error shape for everything else.
	mux.HandleFunc("/echo/{$}", func(w http.ResponseWriter, r *http.Request) {
		apierror.WriteMethodNotAllowed(w, r, http.MethodPost)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		apierror.Write(w, r, apierror.NoEndpoint())
	})
	return mux
}

// echo answers POST /echo/.
func (h *handler) echo(w http.ResponseWriter, r *http.Request) {
	// Attested time, fixed for this request by the SDK's calibration
	// middleware. Compare client-supplied times with it, never time.Now().
	now, ok := calibration.Now(r.Context())
	if !ok {
		apierror.Write(w, r, calibration.Error(nil))
		return
	}
	var body json.RawMessage // any single JSON value
	if err := apierror.DecodeJSON(r, maxBody, &body); err != nil {
		apierror.Write(w, r, err)
		return
	}
	var b [16]byte
	if _, err := io.ReadFull(h.rand, b[:]); err != nil {
		h.log.Error().Err(err).Msg("drbg read failed")
		apierror.Write(w, r, apierror.Internal())
		return
	}
	id := hex.EncodeToString(b[:])
	// Record before answering: a request the audit log cannot record fails.
	// Details describe the request; they never carry its content.
	rec, err := h.audit.Audit(r.Context(), plugin.AuditEvent{
		Action: "echo.request", Subject: id, Outcome: "ok",
		Details: map[string]any{"bytes": len(body)},
	})
	if err != nil {
		h.log.Error().Err(err).Msg("audit append failed")
		apierror.Write(w, r, apierror.Unavailable("audit_unavailable", "the audit log could not record the request", 1))
		return
	}
	apierror.WriteJSON(w, http.StatusOK, response{
		ID: id, Greeting: h.greeting, AttestedTime: now.UTC().Format(time.RFC3339Nano),
		AuditSequence: rec.Sequence, Echo: body,
	})
}
