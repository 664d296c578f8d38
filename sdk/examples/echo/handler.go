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
	"github.com/aunsorm/aunsorm/sdk/route"
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
	ID            string          `json:"id" doc:"A random id from the plugin's DRBG, also the audit record's subject."`
	Greeting      string          `json:"greeting" doc:"The configured greeting."`
	AttestedTime  string          `json:"attested_time" doc:"The attested time of the request (RFC 3339)."`
	AuditSequence uint64          `json:"audit_sequence" doc:"The sequence number of the audit record."`
	Echo          json.RawMessage `json:"echo" doc:"The JSON value sent."`
}

// newHandler returns the plugin's API, declared as a route table: POST
// /echo/ and, generated from the same table, the OpenAPI document at
// /echo/openapi.json. The SDK answers unknown paths 404 and a known path
// with the wrong method 405, both in the JSON error shape.
func newHandler(cfg config, rand io.Reader, audit plugin.Auditor, log zerolog.Logger) http.Handler {
	h := &handler{greeting: cfg.Greeting, rand: rand, audit: audit, log: log}
	api := &route.Table{
		Title:       "Aunsorm echo plugin",
		Version:     version,
		Description: "Echoes a JSON value with a greeting, a random id and the attested time.",
		Prefix:      "/echo",
		MaxBody:     maxBody,
		Routes: []route.Route{
			// The whole API, one line per route. The request is any single
			// JSON value, decoded strictly (no duplicate keys, bounded
			// nesting).
			route.JSON(http.MethodPost, "/echo/", h.echo).
				Doc("Echo a JSON value", "Records one audit event per request before answering.").
				Fails(http.StatusServiceUnavailable, "audit_unavailable", "The audit log could not record the request."),
		},
	}
	return api.MustHandler()
}

// echo answers POST /echo/ with body, the JSON value sent.
func (h *handler) echo(r *http.Request, body *json.RawMessage) (*response, error) {
	// Attested time, fixed for this request by the SDK's calibration
	// middleware. Compare client-supplied times with it, never time.Now().
	now, ok := calibration.Now(r.Context())
	if !ok {
		return nil, calibration.Error(nil)
	}
	var b [16]byte
	if _, err := io.ReadFull(h.rand, b[:]); err != nil {
		h.log.Error().Err(err).Msg("drbg read failed")
		return nil, apierror.Internal()
	}
	id := hex.EncodeToString(b[:])
	// Record before answering: a request the audit log cannot record fails.
	// Details describe the request; they never carry its content.
	rec, err := h.audit.Audit(r.Context(), plugin.AuditEvent{
		Action: "echo.request", Subject: id, Outcome: "ok",
		Details: map[string]any{"bytes": len(*body)},
	})
	if err != nil {
		h.log.Error().Err(err).Msg("audit append failed")
		return nil, apierror.Unavailable("audit_unavailable", "the audit log could not record the request", 1)
	}
	return &response{
		ID: id, Greeting: h.greeting, AttestedTime: now.UTC().Format(time.RFC3339Nano),
		AuditSequence: rec.Sequence, Echo: *body,
	}, nil
}
