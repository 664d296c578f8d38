package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/rs/zerolog"

	"github.com/aunsorm/aunsorm/sdk/apierror"
	"github.com/aunsorm/aunsorm/sdk/calibration"
	"github.com/aunsorm/aunsorm/sdk/clock"
	"github.com/aunsorm/aunsorm/sdk/plugin"
	"github.com/aunsorm/aunsorm/sdk/seal"
	"github.com/aunsorm/aunsorm/sdk/store"
	"github.com/aunsorm/aunsorm/sdk/store/pgtest"
)

var pg pgtest.Lazy

func TestMain(m *testing.M) {
	code := m.Run()
	pg.Stop()
	os.Exit(code)
}

// fakeAudit records events, or fails when err is set.
type fakeAudit struct {
	mu     sync.Mutex
	events []plugin.AuditEvent
	err    error
}

func (f *fakeAudit) Audit(_ context.Context, ev plugin.AuditEvent) (plugin.AuditReceipt, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return plugin.AuditReceipt{}, f.err
	}
	f.events = append(f.events, ev)
	return plugin.AuditReceipt{Sequence: uint64(len(f.events))}, nil
}

// fakeClock is the job's clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() (time.Time, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now, nil
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// freshTracker holds one snapshot signed just now by a test authority.
func freshTracker(t testing.TB) *clock.Tracker {
	t.Helper()
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, ed25519.SeedSize))
	snap, err := clock.Sign(clock.Snapshot{AuthorityID: "test", UnixTimeMs: time.Now().UnixMilli()}, key)
	if err != nil {
		t.Fatal(err)
	}
	tr := clock.NewTracker(key.Public().(ed25519.PublicKey), time.Hour)
	if err := tr.Update(snap); err != nil {
		t.Fatal(err)
	}
	return tr
}

// engine opens a fresh store; both engines run every test.
type engine struct {
	name string
	env  func(t *testing.T) *plugin.Env
}

var engines = []engine{
	{store.DriverSQLite, func(t *testing.T) *plugin.Env { return &plugin.Env{InstanceName: "ledger", DataDir: t.TempDir()} }},
	{store.DriverPostgres, func(t *testing.T) *plugin.Env {
		dsn := pg.Get(t).NewDatabase(t)
		return (&plugin.Env{InstanceName: "ledger"}).WithStorage(plugin.Storage{Driver: store.DriverPostgres, DSN: dsn})
	}},
}

// fixture is a ledger over one store.
type fixture struct {
	db    *store.DB
	env   *plugin.Env
	clk   *fakeClock
	audit *fakeAudit
	job   *job
	srv   http.Handler
}

func newFixture(t testing.TB, env *plugin.Env, holder string) *fixture {
	t.Helper()
	return newFixtureGen(t, env, holder, 1, nil)
}

// testSealer is a sealer with a key fixed by b.
func testSealer(t testing.TB, b byte) *seal.Sealer {
	t.Helper()
	s, err := seal.New(rand.Reader, seal.Key{Version: 1, Secret: bytes.Repeat([]byte{b}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// newFixtureGen is a ledger of schema generation gen; generation 2 seals
// with secrets.
func newFixtureGen(t testing.TB, env *plugin.Env, holder string, gen int, secrets sealer) *fixture {
	t.Helper()
	ms, err := schemaFor(gen)
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.OpenPlugin(t.Context(), env, ms)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	f := &fixture{db: db, env: env, clk: &fakeClock{now: time.Unix(1_700_000_000, 0)}, audit: &fakeAudit{}}
	f.job, err = newJob(db, config{interval: time.Second, ttl: 3 * time.Second}, holder, f.clk.Now, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	f.srv = calibration.Middleware(freshTracker(t), calibration.Options{})(newHandler(db, f.job, f.audit, secrets, zerolog.Nop()))
	return f
}

func (f *fixture) do(method, path, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	f.srv.ServeHTTP(rec, req)
	return rec
}

func TestLedgerAPI(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			f := newFixture(t, e.env(t), "a")
			steps := []struct {
				name, method, path, body string
				status                   int
				code                     string
				want                     string // substring of the body
			}{
				{"ok/write", "PUT", "/ledger/records/k1", `{"value":"v1"}`, 200, "", `"version":1`},
				{"ok/read", "GET", "/ledger/records/k1", "", 200, "", `"value":"v1"`},
				{"ok/overwrite", "PUT", "/ledger/records/k1", `{"value":"v2"}`, 200, "", `"version":2`},
				{"ok/read-new", "GET", "/ledger/records/k1", "", 200, "", `"value":"v2"`},
				{"fail/read-missing", "GET", "/ledger/records/nope", "", 404, "not_found", ""},
				{"fail/bad-key", "PUT", "/ledger/records/a%20b", `{"value":"x"}`, 400, "invalid_request", ""},
				{"fail/no-value", "PUT", "/ledger/records/k2", `{}`, 400, "invalid_request", ""},
				{"fail/value-not-string", "PUT", "/ledger/records/k2", `{"value":1}`, 400, "invalid_request", ""},
				{"fail/value-too-long", "PUT", "/ledger/records/k2", `{"value":"` + strings.Repeat("x", maxValueLen+1) + `"}`, 400, "invalid_request", ""},
				{"fail/body-too-large", "PUT", "/ledger/records/k2", `{"value":"` + strings.Repeat("x", maxBody) + `"}`, 413, "request_too_large", ""},
				{"fail/method", "DELETE", "/ledger/records/k1", "", 405, "method_not_allowed", ""},
				{"ok/consume", "POST", "/ledger/consume/t1", "", 200, "", `"token":"t1"`},
				{"fail/consume-replay", "POST", "/ledger/consume/t1", "", 409, "already_used", ""},
				{"fail/consume-bad-token", "POST", "/ledger/consume/" + strings.Repeat("x", maxKeyLen+1), "", 400, "invalid_request", ""},
				{"fail/consume-method", "GET", "/ledger/consume/t2", "", 405, "method_not_allowed", ""},
				{"ok/job-empty", "GET", "/ledger/job", "", 200, "", `"runs":[]`},
				{"fail/no-endpoint", "GET", "/ledger/other", "", 404, "not_found", ""},
			}
			for _, s := range steps {
				t.Run(s.name, func(t *testing.T) {
					rec := f.do(s.method, s.path, s.body)
					if rec.Code != s.status {
						t.Fatalf("status %d, want %d: %s", rec.Code, s.status, rec.Body)
					}
					if s.code != "" {
						var e apierror.Error
						if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Code != s.code {
							t.Fatalf("body %s, want code %q", rec.Body, s.code)
						}
					}
					if !strings.Contains(rec.Body.String(), s.want) {
						t.Errorf("body %s lacks %s", rec.Body, s.want)
					}
				})
			}
			if len(f.audit.events) != 2 {
				t.Errorf("audited %d writes, want 2", len(f.audit.events))
			}
			t.Run("fail/audit-down-rolls-back", func(t *testing.T) {
				f.audit.err = plugin.ErrUnavailable
				defer func() { f.audit.err = nil }()
				rec := f.do("PUT", "/ledger/records/k1", `{"value":"lost"}`)
				if rec.Code != 503 {
					t.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
				if rec := f.do("GET", "/ledger/records/k1", ""); !strings.Contains(rec.Body.String(), `"value":"v2"`) {
					t.Errorf("an unaudited write was kept: %s", rec.Body)
				}
			})
			t.Run("fail/store-closed-503", func(t *testing.T) {
				g := newFixture(t, e.env(t), "z")
				_ = g.db.Close()
				for _, req := range [][3]string{{"PUT", "/ledger/records/k", `{"value":"x"}`}, {"GET", "/ledger/records/k", ""}, {"POST", "/ledger/consume/x", ""}} {
					rec := g.do(req[0], req[1], req[2])
					var e apierror.Error
					if rec.Code != 503 || json.Unmarshal(rec.Body.Bytes(), &e) != nil || e.Code != "storage_unavailable" {
						t.Errorf("%s %s = %d %s, want 503 storage_unavailable", req[0], req[1], rec.Code, rec.Body)
					}
				}
			})
		})
	}
}

func TestLedgerJobOncePerPeriod(t *testing.T) {
	// Two holders on one store step through periods of a shared clock;
	// each period gets exactly one run, by the lease's holder, until it
	// stops renewing and the other takes over.
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			env := e.env(t)
			a := newFixture(t, env, "a")
			b := newFixture(t, env, "b")
			b.clk = a.clk
			b.job.now = a.clk.Now
			var err error
			b.job.lease, err = b.db.NewLease(store.LeaseOptions{Name: "ledger-job", Holder: "b", TTL: 3 * time.Second, Now: a.clk.Now})
			if err != nil {
				t.Fatal(err)
			}
			a.job.lease, err = a.db.NewLease(store.LeaseOptions{Name: "ledger-job", Holder: "a", TTL: 3 * time.Second, Now: a.clk.Now})
			if err != nil {
				t.Fatal(err)
			}
			ctx := t.Context()
			for range 4 { // a leads
				if err := a.job.step(ctx); err != nil {
					t.Fatal(err)
				}
				if err := b.job.step(ctx); !errors.Is(err, store.ErrLeaseHeld) {
					t.Fatalf("b step while a leads = %v", err)
				}
				a.clk.advance(500 * time.Millisecond)
			}
			a.clk.advance(3 * time.Second) // a died
			for range 4 {
				if err := b.job.step(ctx); err != nil {
					t.Fatal(err)
				}
				a.clk.advance(500 * time.Millisecond)
			}
			var rep jobReport
			if err := json.Unmarshal(b.do("GET", "/ledger/job", "").Body.Bytes(), &rep); err != nil {
				t.Fatal(err)
			}
			periods := map[int64]string{}
			for _, r := range rep.Runs {
				if prev, dup := periods[r.Period]; dup {
					t.Errorf("period %d ran twice (%s, %s)", r.Period, prev, r.Holder)
				}
				periods[r.Period] = r.Holder
			}
			if len(rep.Runs) != 4 || rep.Runs[0].Holder != "a" || rep.Runs[len(rep.Runs)-1].Holder != "b" || rep.Holder != "b" || !rep.Live {
				t.Errorf("job report %+v", rep)
			}
		})
	}
}

func TestLoadConfig(t *testing.T) {
	tests := []struct {
		name         string
		src          string
		wantInterval time.Duration
		wantTTL      time.Duration
		wantErr      bool
	}{
		{"ok/default", "", defaultJobInterval, 3 * defaultJobInterval, false},
		{"ok/set", "job_interval = \"1s\"\nlease_ttl = \"5s\"", time.Second, 5 * time.Second, false},
		{"fail/interval-too-short", `job_interval = "1ms"`, 0, 0, true},
		{"fail/ttl-below-interval", "job_interval = \"2s\"\nlease_ttl = \"1s\"", 0, 0, true},
		{"fail/not-a-duration", `job_interval = "soon"`, 0, 0, true},
		{"fail/unknown", `color = "red"`, 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := loadConfig(plugin.NewConfig([]byte(tt.src), "c.hcl", hcl.Pos{Line: 1, Column: 1}))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
			if !tt.wantErr && (cfg.interval != tt.wantInterval || cfg.ttl != tt.wantTTL) {
				t.Errorf("interval %s ttl %s", cfg.interval, cfg.ttl)
			}
		})
	}
}

// FuzzLedgerRequest sends arbitrary keys and bodies: every answer is a
// known status with the JSON error shape, never a panic.
func FuzzLedgerRequest(f *testing.F) {
	f.Add("PUT", "k", `{"value":"v"}`)
	f.Add("POST", "t", ``)
	f.Add("GET", "k", ``)
	f.Add("PUT", "a/b", `{"value":null}`)
	f.Add("PUT", "k", `{"value":"x","value":"y"}`)
	f.Add("PUT", "k", `{"value":"x","secret":"s"}`)
	f.Add("PUT", "k", `{"value":"x","secret":null}`)
	f.Add("PUT", "k", `{"value":"x","Secret":"s"}`)
	dir := f.TempDir()
	db, err := store.Open(context.Background(), store.Options{Path: filepath.Join(dir, "f.db"), Migrations: history})
	if err != nil {
		f.Fatal(err)
	}
	defer db.Close()
	clk := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	j, err := newJob(db, config{interval: time.Second, ttl: 3 * time.Second}, "f", clk.Now, zerolog.Nop())
	if err != nil {
		f.Fatal(err)
	}
	// Both generations on one store, as during a swap: each input goes to
	// both.
	tr := freshTracker(f)
	srvs := []http.Handler{
		calibration.Middleware(tr, calibration.Options{})(newHandler(db, j, &fakeAudit{}, nil, zerolog.Nop())),
		calibration.Middleware(tr, calibration.Options{})(newHandler(db, j, &fakeAudit{}, testSealer(f, 1), zerolog.Nop())),
	}
	f.Fuzz(func(t *testing.T, method, name, body string) {
		for _, srv := range srvs {
			fuzzOne(t, srv, method, name, body)
		}
	})
}

// fuzzOne sends one fuzzed request to srv and checks the answer's shape.
func fuzzOne(t *testing.T, srv http.Handler, method, name, body string) {
	switch method {
	case "PUT", "GET", "POST":
	default:
		method = "GET"
	}
	prefix := map[string]string{"PUT": "/ledger/records/", "GET": "/ledger/records/", "POST": "/ledger/consume/"}[method]
	req, err := http.NewRequest(method, "http://x"+prefix, strings.NewReader(body))
	if err != nil {
		return
	}
	req.URL.Path += name
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	switch rec.Code {
	case 200, 301, 307, 308, 400, 404, 405, 409, 413:
	default:
		t.Fatalf("%s %q %q: status %d %s", method, name, body, rec.Code, rec.Body)
	}
	if rec.Code >= 400 {
		var e apierror.Error
		if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Code == "" {
			t.Fatalf("%s %q: error body %s", method, name, rec.Body)
		}
	}
}

// TestLedgerSchemaGenerations plays a swap from generation 1 to 2 and back
// on one store, as the daemon runs it: the old process keeps serving while
// the new one migrates, and a rollback starts generation 1 on the migrated
// store.
func TestLedgerSchemaGenerations(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			env := e.env(t)
			v1 := newFixture(t, env, "v1")
			v2 := newFixtureGen(t, env, "v2", 2, testSealer(t, 1))
			rollback := newFixture(t, env, "v1b")
			other := newFixtureGen(t, env, "other", 2, testSealer(t, 2))
			steps := []struct {
				name, method, path, body string
				f                        *fixture
				status                   int
				want                     string // substring of the body
			}{
				{"ok/v1-write", "PUT", "/ledger/records/a", `{"value":"a1"}`, v1, 200, `"version":1`},
				{"ok/v2-reads-v1-row", "GET", "/ledger/records/a", "", v2, 200, `"value":"a1","version":1`},
				{"ok/v2-write-secret", "PUT", "/ledger/records/b", `{"value":"b1","secret":"s3cr3t"}`, v2, 200, `"version":1`},
				{"ok/v2-reads-secret", "GET", "/ledger/records/b", "", v2, 200, `"secret":"s3cr3t"`},
				{"ok/v1-reads-v2-row", "GET", "/ledger/records/b", "", v1, 200, `"value":"b1","version":1`},
				{"ok/v1-overwrites-v2-row", "PUT", "/ledger/records/b", `{"value":"b2"}`, v1, 200, `"version":2`},
				{"ok/secret-kept", "GET", "/ledger/records/b", "", v2, 200, `"value":"b2","version":2,`},
				{"ok/secret-kept-value", "GET", "/ledger/records/b", "", v2, 200, `"secret":"s3cr3t"`},
				{"ok/v2-write-without-secret-keeps-it", "PUT", "/ledger/records/b", `{"value":"b3"}`, v2, 200, `"version":3`},
				{"ok/v2-replaces-secret", "PUT", "/ledger/records/b", `{"value":"b4","secret":"new"}`, v2, 200, `"version":4`},
				{"ok/v2-reads-replaced", "GET", "/ledger/records/b", "", v2, 200, `"secret":"new"`},
				{"ok/rollback-reads", "GET", "/ledger/records/b", "", rollback, 200, `"value":"b4","version":4,`},
				{"ok/rollback-writes", "PUT", "/ledger/records/c", `{"value":"c1"}`, rollback, 200, `"version":1`},
				{"ok/v2-no-secret-field", "GET", "/ledger/records/c", "", v2, 200, `"value":"c1"`},
				{"fail/v1-refuses-secret", "PUT", "/ledger/records/a", `{"value":"a2","secret":"x"}`, v1, 400, "invalid_request"},
				{"fail/secret-too-long", "PUT", "/ledger/records/a", `{"value":"a2","secret":"` + strings.Repeat("x", maxValueLen+1) + `"}`, v2, 400, "invalid_request"},
				{"fail/secret-not-string", "PUT", "/ledger/records/a", `{"value":"a2","secret":1}`, v2, 400, "invalid_request"},
				{"fail/other-instance-cannot-open", "GET", "/ledger/records/b", "", other, 500, "sealed_value_refused"},
			}
			for _, s := range steps {
				t.Run(s.name, func(t *testing.T) {
					rec := s.f.do(s.method, s.path, s.body)
					if rec.Code != s.status || !strings.Contains(rec.Body.String(), s.want) {
						t.Fatalf("status %d %s, want %d with %s", rec.Code, rec.Body, s.status, s.want)
					}
				})
			}
			if rec := v1.do("GET", "/ledger/records/b", ""); strings.Contains(rec.Body.String(), "secret") {
				t.Errorf("generation 1 shows a secret: %s", rec.Body)
			}
			t.Run("fail/moved-row-refused", func(t *testing.T) {
				// A sealed secret copied into another record's row does not
				// open there: it is bound to its key.
				if rec := v2.do("PUT", "/ledger/records/d", `{"value":"d1","secret":"other"}`); rec.Code != 200 {
					t.Fatalf("write d: %d %s", rec.Code, rec.Body)
				}
				if _, err := v2.db.SQL().ExecContext(t.Context(), v2.db.Rebind(`UPDATE records SET secret_sealed = (SELECT secret_sealed FROM records WHERE k = ?) WHERE k = ?`), "d", "b"); err != nil {
					t.Fatal(err)
				}
				rec := v2.do("GET", "/ledger/records/b", "")
				var e apierror.Error
				if rec.Code != 500 || json.Unmarshal(rec.Body.Bytes(), &e) != nil || e.Code != "sealed_value_refused" || strings.Contains(rec.Body.String(), "other") {
					t.Fatalf("moved secret: %d %s", rec.Code, rec.Body)
				}
			})
		})
	}
}

func TestSchemaFor(t *testing.T) {
	tests := []struct {
		name string
		gen  int
		want int
		err  error
	}{
		{"ok/1", 1, 1, nil},
		{"ok/2", 2, 2, nil},
		{"fail/0", 0, 0, errSchema},
		{"fail/3", 3, 0, errSchema},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms, err := schemaFor(tt.gen)
			if !errors.Is(err, tt.err) || len(ms) != tt.want {
				t.Fatalf("schemaFor(%d) = %d migrations, %v", tt.gen, len(ms), err)
			}
		})
	}
}
