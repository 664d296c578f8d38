package gateway

import (
	"context"
	"net/http"
	"time"

	"github.com/aunsorm/aunsorm/daemon/internal/supervisor"
	"github.com/aunsorm/aunsorm/sdk/apierror"
	"github.com/aunsorm/aunsorm/sdk/calibration"
)

// healthReport is the body of GET /health. Field names are snake_case, as
// in every document the platform serves (docs/api.md); a value that the
// clock snapshot also carries has the snapshot's name.
type healthReport struct {
	Status  string            `json:"status"`
	Reasons []string          `json:"reasons,omitempty"`
	Clock   clockHealth       `json:"clock"`
	RNG     rngHealth         `json:"rng"`
	Plugins map[string]string `json:"plugins"`
	Storage string            `json:"storage,omitempty"`
}

// StoragePinger is the daemon's database as /health sees it.
type StoragePinger interface {
	Ping(ctx context.Context) error
}

// storagePingTimeout bounds the storage check of one /health request.
const storagePingTimeout = 2 * time.Second

// StorageUnavailable is the /health reason while the database is down.
const StorageUnavailable = "storage_unavailable"

type clockHealth struct {
	Status         string `json:"status"`
	AgeMs          int64  `json:"age_ms"`
	MaxMs          int64  `json:"max_ms"`
	Authority      string `json:"authority_id"`
	Fingerprint    string `json:"authority_fingerprint_hex"`
	AttestedUnixMs int64  `json:"attested_unix_ms"`
	RefreshEnabled bool   `json:"refresh_enabled"`
	Error          string `json:"error,omitempty"`
}

type rngHealth struct {
	Status         string `json:"status"`
	Reseeds        uint64 `json:"reseeds"`
	ReseedFailures uint64 `json:"reseed_failures"`
}

// serveHealth answers 200 only when the clock is fresh, the RNG healthy,
// the database answering and every plugin running; otherwise 503 with the
// reasons.
func (g *Gateway) serveHealth(w http.ResponseWriter, r *http.Request) {
	rep := healthReport{Status: "ok", Plugins: map[string]string{}}
	st := g.opts.Authority.Tracker().Status()
	rep.Clock = clockHealth{Status: "ok", AgeMs: st.Age.Milliseconds(), MaxMs: st.MaxAge.Milliseconds(),
		Authority: st.Snapshot.AuthorityID, Fingerprint: st.Snapshot.AuthorityFingerprintHex,
		RefreshEnabled: g.opts.Authority.RefreshEnabled()}
	if !st.AttestedNow.IsZero() {
		rep.Clock.AttestedUnixMs = st.AttestedNow.UnixMilli()
	}
	if !st.Fresh {
		rep.Clock.Status = "stale"
		rep.Clock.Error = calibration.Error(st.Err).Code
		rep.Reasons = append(rep.Reasons, "clock: "+rep.Clock.Error)
	}
	rs := g.opts.RNG.Stats()
	rep.RNG = rngHealth{Status: "ok", Reseeds: rs.Reseeds, ReseedFailures: rs.ReseedFailures}
	if !rs.Healthy {
		rep.RNG.Status = "failing"
		rep.Reasons = append(rep.Reasons, "rng: not healthy")
	}
	for _, m := range g.opts.Supervisor.Plugins() {
		s := m.Status()
		if s == supervisor.StatusRunning {
			rep.Plugins[m.Name()] = "ok"
			continue
		}
		rep.Plugins[m.Name()] = s
		rep.Reasons = append(rep.Reasons, "plugin "+m.Name()+": "+s)
	}
	if g.opts.Storage != nil {
		ctx, cancel := context.WithTimeout(r.Context(), storagePingTimeout)
		err := g.opts.Storage.Ping(ctx)
		cancel()
		rep.Storage = "ok"
		if err != nil {
			rep.Storage = StorageUnavailable
			rep.Reasons = append(rep.Reasons, "storage: "+StorageUnavailable)
		}
	}
	status := http.StatusOK
	if len(rep.Reasons) > 0 {
		rep.Status = "failing"
		status = http.StatusServiceUnavailable
	}
	apierror.WriteJSON(w, status, rep)
}

// serveAttestation returns the current signed snapshot with the authority
// public key, the document remote-mode daemons poll.
func (g *Gateway) serveAttestation(w http.ResponseWriter, r *http.Request) {
	doc, ok := g.opts.Authority.Current()
	if !ok {
		apierror.Write(w, r, calibration.Error(g.opts.Authority.Tracker().Status().Err))
		return
	}
	apierror.WriteJSON(w, http.StatusOK, doc)
}
