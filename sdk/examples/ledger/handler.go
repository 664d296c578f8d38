package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/rs/zerolog"

	"github.com/aunsorm/aunsorm/sdk/apierror"
	"github.com/aunsorm/aunsorm/sdk/calibration"
	"github.com/aunsorm/aunsorm/sdk/plugin"
	"github.com/aunsorm/aunsorm/sdk/store"
)

// Bounds of what a client sends.
const (
	maxBody     = 16 << 10
	maxValueLen = 4096
	maxKeyLen   = 128
	// maxRuns bounds GET /ledger/job.
	maxRuns = 1000
	// tokenTTL is how long a consumed token is remembered.
	tokenTTL = 24 * time.Hour
)

// history is the plugin's schema history, portable to both engines. A
// release applies the first schemaGen entries (see schemaFor). Every step
// is expand-only, so the release before it keeps working on the new
// schema while both run during a swap, and after a rollback.
var history = []store.Migration{
	{Version: 1, Name: "records-and-job-runs", Up: `
		CREATE TABLE records (
			k          TEXT PRIMARY KEY,
			value      TEXT NOT NULL,
			version    BIGINT NOT NULL,
			written_ns BIGINT NOT NULL
		);
		CREATE TABLE job_runs (
			seq    BIGINT PRIMARY KEY,
			period BIGINT NOT NULL,
			holder TEXT NOT NULL,
			token  BIGINT NOT NULL,
			ran_ns BIGINT NOT NULL
		);
		CREATE INDEX job_runs_period ON job_runs (period);`},
	// Generation 2: an optional sealed secret per record. A nullable
	// column: rows written by generation 1 (before or after this runs)
	// simply have none, and generation 1's statements never name it.
	{Version: 2, Name: "records-secret", Up: `ALTER TABLE records ADD COLUMN secret_sealed BYTEA`},
}

// schemaFor returns the migrations of schema generation gen (1 or 2).
func schemaFor(gen int) ([]store.Migration, error) {
	if gen < 1 || gen > len(history) {
		return nil, fmt.Errorf("%w: schema generation %d, want 1 to %d", errSchema, gen, len(history))
	}
	return history[:gen], nil
}

// sealer is what generation 2 needs of the plugin's sealer.
type sealer interface {
	Seal(aad, plaintext []byte) ([]byte, error)
	Open(aad, sealed []byte) (plaintext []byte, stale bool, err error)
}

// secretAAD binds a sealed secret to its record: moved to another key's
// row, it does not open.
func secretAAD(key string) []byte { return []byte("ledger/records/secret_sealed/" + key) }

// auditor is what the handler needs of the daemon's host services.
type auditor interface {
	Audit(ctx context.Context, ev plugin.AuditEvent) (plugin.AuditReceipt, error)
}

// handler serves the plugin's API.
type handler struct {
	db    *store.DB
	job   *job
	audit auditor
	// secrets is nil in generation 1: the API has no secret field and no
	// statement names the secret_sealed column.
	secrets sealer
	log     zerolog.Logger
}

// record is a stored record as the API shows it.
type record struct {
	Key       string `json:"key"`
	Value     string `json:"value"`
	Version   int64  `json:"version"`
	WrittenAt string `json:"written_at"`
	// Secret is shown by GET in generation 2 when the record has one.
	Secret *string `json:"secret,omitempty"`
}

// writeRequest is the body of PUT /ledger/records/{key}.
type writeRequest struct {
	Value *string `json:"value"`
	// Secret (generation 2) replaces the record's sealed secret; absent, the
	// secret the record has is kept, as generation 1 keeps it.
	Secret *string `json:"secret"`
}

// writeRequestV1 is the body generation 1 accepts: it refuses a secret it
// could not keep.
type writeRequestV1 struct {
	Value *string `json:"value"`
}

// run is one recorded run of the job.
type run struct {
	Seq    int64  `json:"seq"`
	Period int64  `json:"period"`
	Holder string `json:"holder"`
	Token  int64  `json:"token"`
}

// jobReport is the body of GET /ledger/job.
type jobReport struct {
	Self   string `json:"self"`
	Holder string `json:"holder"`
	Token  int64  `json:"token"`
	Live   bool   `json:"live"`
	Runs   []run  `json:"runs"`
}

// newHandler returns the API; secrets nil serves generation 1.
func newHandler(db *store.DB, j *job, audit auditor, secrets sealer, log zerolog.Logger) http.Handler {
	h := &handler{db: db, job: j, audit: audit, secrets: secrets, log: log}
	mux := http.NewServeMux()
	// The whole API, one line per route.
	mux.HandleFunc("PUT /ledger/records/{key}", h.write)
	mux.HandleFunc("GET /ledger/records/{key}", h.read)
	mux.HandleFunc("POST /ledger/consume/{token}", h.consume)
	mux.HandleFunc("GET /ledger/job", h.jobStatus)
	// The JSON error shape for everything else.
	mux.HandleFunc("/ledger/records/{key}", func(w http.ResponseWriter, r *http.Request) {
		apierror.WriteMethodNotAllowed(w, r, http.MethodGet, http.MethodPut)
	})
	mux.HandleFunc("/ledger/consume/{token}", func(w http.ResponseWriter, r *http.Request) {
		apierror.WriteMethodNotAllowed(w, r, http.MethodPost)
	})
	mux.HandleFunc("/ledger/job", func(w http.ResponseWriter, r *http.Request) {
		apierror.WriteMethodNotAllowed(w, r, http.MethodGet)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		apierror.Write(w, r, apierror.NoEndpoint())
	})
	return mux
}

// validName reports whether s is a usable key or token: 1 to maxKeyLen
// bytes of [A-Za-z0-9._-].
func validName(s string) bool {
	if s == "" || len(s) > maxKeyLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// storageError is the answer to a store failure: the database is down or
// refusing, and the client may retry.
func (h *handler) storageError(w http.ResponseWriter, r *http.Request, err error) {
	h.log.Warn().Err(err).Msg("store")
	apierror.Write(w, r, apierror.Unavailable("storage_unavailable", "the ledger's database is not available", 1))
}

// The package's errors.
var (
	// errAudit marks a failed audit append inside a write transaction.
	errAudit = errors.New("ledger: audit append failed")
	// errSchema reports a binary built with an unknown schema generation.
	errSchema = errors.New("ledger: unknown schema generation")
	// errNoSealer reports a generation 2 binary under a host that sent no
	// sealing keys.
	errNoSealer = errors.New("ledger: schema generation 2 keeps sealed secrets, and the host sent no sealing keys")
)

// write answers PUT /ledger/records/{key}: the record and its audit event
// are committed before the answer.
func (h *handler) write(w http.ResponseWriter, r *http.Request) {
	now, ok := calibration.Now(r.Context())
	if !ok {
		apierror.Write(w, r, calibration.Error(nil))
		return
	}
	key := r.PathValue("key")
	if !validName(key) {
		apierror.Write(w, r, apierror.BadRequest("key must be 1 to %d characters of A-Z a-z 0-9 . _ -", maxKeyLen))
		return
	}
	var req writeRequest
	if h.secrets == nil {
		var v1 writeRequestV1
		if err := apierror.DecodeJSON(r, maxBody, &v1); err != nil {
			apierror.Write(w, r, err)
			return
		}
		req.Value = v1.Value
	} else if err := apierror.DecodeJSON(r, maxBody, &req); err != nil {
		apierror.Write(w, r, err)
		return
	}
	if req.Value == nil || len(*req.Value) > maxValueLen {
		apierror.Write(w, r, apierror.BadRequest("value must be a string of at most %d bytes", maxValueLen))
		return
	}
	if req.Secret != nil && len(*req.Secret) > maxValueLen {
		apierror.Write(w, r, apierror.BadRequest("secret must be a string of at most %d bytes", maxValueLen))
		return
	}
	rec := record{Key: key, Value: *req.Value, WrittenAt: now.UTC().Format(time.RFC3339Nano)}
	// Sealed before the transaction: sealing needs no lock.
	q, args := h.db.Rebind(`INSERT INTO records (k, value, version, written_ns) VALUES (?, ?, 1, ?)
			ON CONFLICT (k) DO UPDATE SET value = excluded.value, version = records.version + 1, written_ns = excluded.written_ns
			RETURNING version`), []any{key, rec.Value, now.UnixNano()}
	if req.Secret != nil {
		sealed, err := h.secrets.Seal(secretAAD(key), []byte(*req.Secret))
		if err != nil {
			h.log.Error().Err(err).Msg("seal")
			apierror.Write(w, r, apierror.Internal())
			return
		}
		q = h.db.Rebind(`INSERT INTO records (k, value, version, written_ns, secret_sealed) VALUES (?, ?, 1, ?, ?)
			ON CONFLICT (k) DO UPDATE SET value = excluded.value, version = records.version + 1, written_ns = excluded.written_ns,
			secret_sealed = excluded.secret_sealed
			RETURNING version`)
		args = append(args, sealed)
	}
	ctx := r.Context()
	err := h.db.Tx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, q, args...).Scan(&rec.Version); err != nil {
			return err
		}
		// Audited inside the transaction: a write the log cannot record
		// is rolled back.
		if _, err := h.audit.Audit(ctx, plugin.AuditEvent{Action: "ledger.write", Subject: key, Outcome: "ok",
			Details: map[string]any{"version": rec.Version, "bytes": len(rec.Value), "secret": req.Secret != nil}}); err != nil {
			h.log.Error().Err(err).Msg("audit append failed")
			return errAudit
		}
		return nil
	})
	switch {
	case errors.Is(err, errAudit):
		apierror.Write(w, r, apierror.Unavailable("audit_unavailable", "the audit log could not record the write", 1))
		return
	case err != nil:
		h.storageError(w, r, err)
		return
	}
	apierror.WriteJSON(w, http.StatusOK, rec)
}

// read answers GET /ledger/records/{key}.
func (h *handler) read(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	if !validName(key) {
		apierror.Write(w, r, apierror.BadRequest("key must be 1 to %d characters of A-Z a-z 0-9 . _ -", maxKeyLen))
		return
	}
	var (
		rec    record
		ns     int64
		sealed []byte
		err    error
	)
	if h.secrets == nil {
		err = h.db.SQL().QueryRowContext(r.Context(), h.db.Rebind(`SELECT k, value, version, written_ns FROM records WHERE k = ?`), key).
			Scan(&rec.Key, &rec.Value, &rec.Version, &ns)
	} else {
		err = h.db.SQL().QueryRowContext(r.Context(), h.db.Rebind(`SELECT k, value, version, written_ns, secret_sealed FROM records WHERE k = ?`), key).
			Scan(&rec.Key, &rec.Value, &rec.Version, &ns, &sealed)
	}
	switch {
	case errors.Is(err, sql.ErrNoRows):
		apierror.Write(w, r, apierror.NotFound("no record %q", key))
		return
	case err != nil:
		h.storageError(w, r, err)
		return
	}
	rec.WrittenAt = time.Unix(0, ns).UTC().Format(time.RFC3339Nano)
	if sealed != nil {
		// A stale value (an older root key version) still opens; the next
		// write that carries a secret seals it under the newest.
		plain, _, err := h.secrets.Open(secretAAD(key), sealed)
		if err != nil {
			// Tampered with, moved from another row, or sealed for
			// another plugin: refused, never shown.
			h.log.Error().Err(err).Str("key", key).Msg("sealed secret refused")
			apierror.Write(w, r, apierror.New(http.StatusInternalServerError, "sealed_value_refused", "the record's secret does not open"))
			return
		}
		s := string(plain)
		rec.Secret = &s
	}
	apierror.WriteJSON(w, http.StatusOK, rec)
}

// consume answers POST /ledger/consume/{token}: 200 the first time a token
// is presented, on any daemon sharing the store, 409 already_used after.
func (h *handler) consume(w http.ResponseWriter, r *http.Request) {
	now, ok := calibration.Now(r.Context())
	if !ok {
		apierror.Write(w, r, calibration.Error(nil))
		return
	}
	token := r.PathValue("token")
	if !validName(token) {
		apierror.Write(w, r, apierror.BadRequest("token must be 1 to %d characters of A-Z a-z 0-9 . _ -", maxKeyLen))
		return
	}
	err := h.db.UseOnce(r.Context(), "ledger-token", token, now.Add(tokenTTL))
	switch {
	case errors.Is(err, store.ErrAlreadyUsed):
		apierror.Write(w, r, apierror.New(http.StatusConflict, "already_used", "the token was consumed before"))
		return
	case err != nil:
		h.storageError(w, r, err)
		return
	}
	apierror.WriteJSON(w, http.StatusOK, map[string]string{"token": token, "consumed_at": now.UTC().Format(time.RFC3339Nano)})
}

// jobStatus answers GET /ledger/job: who holds the job's lease and the
// last runs, oldest first.
func (h *handler) jobStatus(w http.ResponseWriter, r *http.Request) {
	st, err := h.job.lease.State(r.Context())
	if errors.Is(err, store.ErrNoClock) {
		apierror.Write(w, r, calibration.Error(nil))
		return
	}
	if err != nil {
		h.storageError(w, r, err)
		return
	}
	rep := jobReport{Self: h.job.holder, Holder: st.Holder, Token: st.Token, Live: st.Live, Runs: []run{}}
	rows, err := h.db.SQL().QueryContext(r.Context(), h.db.Rebind(`SELECT seq, period, holder, token FROM
		(SELECT seq, period, holder, token FROM job_runs ORDER BY seq DESC LIMIT ?) AS last ORDER BY seq`), maxRuns)
	if err != nil {
		h.storageError(w, r, err)
		return
	}
	defer rows.Close()
	for rows.Next() {
		var x run
		if err := rows.Scan(&x.Seq, &x.Period, &x.Holder, &x.Token); err != nil {
			h.storageError(w, r, err)
			return
		}
		rep.Runs = append(rep.Runs, x)
	}
	if err := rows.Err(); err != nil {
		h.storageError(w, r, err)
		return
	}
	apierror.WriteJSON(w, http.StatusOK, rep)
}
