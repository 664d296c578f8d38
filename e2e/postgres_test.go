package e2e

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aunsorm/aunsorm/sdk/store/pgtest"
)

// pg is the private PostgreSQL cluster of the end-to-end tests; TestMain
// stops it.
var pg pgtest.Lazy

// Ledger job settings of the two-daemon tests.
const (
	ledgerInterval = 500 * time.Millisecond
	ledgerTTL      = 2 * time.Second
	pgMaxConns     = 3
)

// ledgerBlock is the ledger plugin's block body.
var ledgerBlock = fmt.Sprintf("  config {\n    job_interval = %q\n    lease_ttl = %q\n  }", ledgerInterval, ledgerTTL)

// pgStorage is a storage block on dsn with the test's pool size.
func pgStorage(dsn string) string {
	return fmt.Sprintf("  driver = \"postgres\"\n  dsn = %q\n  max_conns = %d", dsn, pgMaxConns)
}

// call is one request that never fails the test from a goroutine: it
// returns the status (0 when the request did not get an answer) and the
// decoded JSON body.
func call(method, u, body string) (int, map[string]any) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, nil
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return resp.StatusCode, m
}

// dbName is the database a test DSN names.
func dbName(t testing.TB, dsn string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimPrefix(u.Path, "/")
}

// kill9 kills the daemon and its plugins with SIGKILL, as a machine that
// dies takes them all.
func (d *daemon) kill9() {
	kids := childPIDs(d.cmd.Process.Pid)
	_ = d.cmd.Process.Signal(syscall.SIGKILL)
	for _, k := range kids {
		_ = syscall.Kill(k, syscall.SIGKILL)
	}
	<-d.done
}

// jobState is GET /ledger/job.
type jobState struct {
	Self   string `json:"self"`
	Holder string `json:"holder"`
	Token  int64  `json:"token"`
	Live   bool   `json:"live"`
	Runs   []struct {
		Seq    int64  `json:"seq"`
		Period int64  `json:"period"`
		Holder string `json:"holder"`
		Token  int64  `json:"token"`
	} `json:"runs"`
}

func getJob(t testing.TB, d *daemon) jobState {
	t.Helper()
	r := do(t, "GET", d.url+"/ledger/job", nil)
	if r.status != 200 {
		t.Fatalf("GET /ledger/job = %d %s", r.status, r.body)
	}
	var st jobState
	if err := json.Unmarshal(r.body, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

// TestPostgresTwoDaemons runs two daemons, each with the ledger plugin, on
// one PostgreSQL database: what one writes the other reads, a single-use
// token is consumed once across both, the audit log is one chain, the
// pools stay within max_conns, and the job's lease moves when its holder
// is killed.
func TestPostgresTwoDaemons(t *testing.T) {
	c := pg.Get(t)
	dsn := c.NewDatabase(t)
	opts := daemonOpts{Plugins: map[string]string{"ledger": ledgerBlock}, Storage: pgStorage(dsn)}
	a := startDaemon(t, opts)
	b := startDaemon(t, opts)
	if strings.Contains(a.logs.String()+b.logs.String(), c.Password()) {
		t.Fatal("a daemon logged the database password")
	}

	t.Run("ok/write-on-a-read-on-b", func(t *testing.T) {
		r := do(t, "PUT", a.url+"/ledger/records/shared", map[string]string{"value": "from-a"})
		if r.status != 200 {
			t.Fatalf("PUT on A = %d %s", r.status, r.body)
		}
		r = do(t, "GET", b.url+"/ledger/records/shared", nil)
		if r.status != 200 || r.json["value"] != "from-a" {
			t.Fatalf("GET on B = %d %s", r.status, r.body)
		}
	})

	t.Run("fail/token-consumed-on-a-refused-on-b", func(t *testing.T) {
		if r := do(t, "POST", a.url+"/ledger/consume/once-1", nil); r.status != 200 {
			t.Fatalf("consume on A = %d %s", r.status, r.body)
		}
		wantError(t, do(t, "POST", b.url+"/ledger/consume/once-1", nil), 409, "already_used")
	})

	t.Run("ok/concurrent-consumers-exactly-one-wins", func(t *testing.T) {
		const trials, racers = 20, 8
		var peak atomic.Int64
		stop := make(chan struct{})
		var sampler sync.WaitGroup
		sampler.Go(func() { peak.Store(int64(samplePeak(c, dbName(t, dsn), stop))) })
		for trial := range trials {
			var wins, refused, other atomic.Int32
			var wg sync.WaitGroup
			start := make(chan struct{})
			for r := range racers {
				d := []*daemon{a, b}[r%2]
				wg.Go(func() {
					<-start
					status, _ := call("POST", fmt.Sprintf("%s/ledger/consume/race-%d", d.url, trial), "")
					switch status {
					case 200:
						wins.Add(1)
					case 409:
						refused.Add(1)
					default:
						other.Add(1)
					}
				})
			}
			close(start)
			wg.Wait()
			if wins.Load() != 1 || refused.Load() != racers-1 {
				t.Fatalf("trial %d: %d won, %d refused, %d other; want exactly one winner", trial, wins.Load(), refused.Load(), other.Load())
			}
		}
		close(stop)
		sampler.Wait()
		// Each daemon has two pools (audit log, ledger), each capped.
		limit := int64(2 * 2 * pgMaxConns)
		t.Logf("peak connections to the database under load: %d (limit %d)", peak.Load(), limit)
		if peak.Load() > limit || peak.Load() == 0 {
			t.Errorf("peak connections %d, want 1..%d", peak.Load(), limit)
		}
	})

	t.Run("ok/audit-one-chain", func(t *testing.T) {
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var n, maxSeq, broken int64
		if err := db.QueryRowContext(t.Context(), `SELECT COUNT(*), COALESCE(MAX(seq), 0) FROM aunsorm_audit.audit_log`).Scan(&n, &maxSeq); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM aunsorm_audit.audit_log x
			JOIN aunsorm_audit.audit_log y ON y.seq = x.seq + 1 WHERE y.prev_hash <> x.hash`).Scan(&broken); err != nil {
			t.Fatal(err)
		}
		var sources int64
		if err := db.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM aunsorm_audit.audit_log WHERE action = 'ledger.write'`).Scan(&sources); err != nil {
			t.Fatal(err)
		}
		if n == 0 || n != maxSeq || broken != 0 || sources < 1 {
			t.Errorf("audit log: %d records, max seq %d, %d broken links, %d ledger writes", n, maxSeq, broken, sources)
		}
	})

	t.Run("ok/lease-moves-after-kill-9", func(t *testing.T) {
		// Wait for a holder to run the job at least twice.
		var before jobState
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			before = getJob(t, a)
			if before.Live && len(before.Runs) >= 2 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the job never ran twice: %+v", before)
			}
		}
		holder, survivor := a, b
		if before.Holder != before.Self {
			holder, survivor = b, a
		}
		holder.kill9()
		var after jobState
		for deadline := time.Now().Add(20 * ledgerTTL); ; time.Sleep(50 * time.Millisecond) {
			after = getJob(t, survivor)
			if after.Live && after.Holder == after.Self && len(after.Runs) > 0 && after.Runs[len(after.Runs)-1].Holder == after.Self {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the survivor never took the job over: %+v", after)
			}
		}
		if after.Token <= before.Token {
			t.Errorf("fencing token %d after takeover, want above %d", after.Token, before.Token)
		}
		// Once per period: no period ran twice, whoever ran it.
		seen := map[int64]string{}
		lastOld, firstNew := int64(math.MinInt64), int64(math.MaxInt64)
		for _, r := range after.Runs {
			if prev, dup := seen[r.Period]; dup {
				t.Errorf("period %d ran twice (%s and %s)", r.Period, prev, r.Holder)
			}
			seen[r.Period] = r.Holder
			if r.Holder == before.Holder {
				lastOld = max(lastOld, r.Period)
			} else if r.Holder == after.Self {
				firstNew = min(firstNew, r.Period)
			}
		}
		// The takeover, measured in the attested time the runs record:
		// within the lease's TTL (plus one tick of the survivor's job).
		gap := time.Duration(firstNew-lastOld) * ledgerInterval
		t.Logf("job moved after %s of attested time (ttl %s)", gap, ledgerTTL)
		if gap > ledgerTTL+2*ledgerInterval {
			t.Errorf("job moved after %s, want within the ttl %s (+ one period)", gap, ledgerTTL)
		}
	})
}

// samplePeak counts the database's client connections until stop closes
// and returns the highest count seen.
func samplePeak(c *pgtest.Cluster, database string, stop <-chan struct{}) int {
	db, err := sql.Open("pgx", c.DSN("postgres"))
	if err != nil {
		return -1
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	peak := 0
	for {
		var n int
		if err := db.QueryRow(`SELECT COUNT(*) FROM pg_stat_activity WHERE datname = $1 AND backend_type = 'client backend'`, database).Scan(&n); err == nil {
			peak = max(peak, n)
		}
		select {
		case <-stop:
			return peak
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// TestPostgresRestartUnderLoad restarts PostgreSQL with pg_ctl restart -m
// fast while a client writes through the daemon: writes fail with 503 while
// it is down, /health says storage_unavailable, every acknowledged write is
// there afterwards, and the daemon recovers without a restart.
func TestPostgresRestartUnderLoad(t *testing.T) {
	bin, err := pgtest.FindBin()
	if err != nil {
		pgtest.Missing(t, err)
	}
	c, err := pgtest.Start(bin) // its own cluster: this test stops it
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	dsn := c.NewDatabase(t)
	d := startDaemon(t, daemonOpts{Plugins: map[string]string{"ledger": ledgerBlock}, Storage: pgStorage(dsn)})

	var (
		mu        sync.Mutex
		acked     = map[string]string{}
		failed503 atomic.Int32
		written   atomic.Int32
	)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			key, val := fmt.Sprintf("k%d", i), fmt.Sprintf("v%d", i)
			status, body := call("PUT", d.url+"/ledger/records/"+key, fmt.Sprintf(`{"value":%q}`, val))
			switch {
			case status == 200:
				mu.Lock()
				acked[key] = val
				mu.Unlock()
				written.Add(1)
			case status == 503 && (body["error"] == "storage_unavailable" || body["error"] == "audit_unavailable"):
				// Either the ledger's store or the audit log (in the same
				// database) noticed first; both refuse the write whole.
				failed503.Add(1)
			default:
				t.Errorf("PUT %s = %d %v", key, status, body)
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
	waitWrites := func(n int32) {
		for deadline := time.Now().Add(30 * time.Second); written.Load() < n; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("only %d writes acknowledged", written.Load())
			}
		}
	}
	waitWrites(20)
	if err := c.Down(); err != nil {
		t.Fatal(err)
	}
	// While it is down: /health 503 storage_unavailable, writes 503.
	var health map[string]any
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var status int
		status, health = call("GET", d.url+"/health", "")
		if status == 503 && health["storage"] == "storage_unavailable" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/health never reported storage_unavailable: %v", health)
		}
	}
	for deadline := time.Now().Add(15 * time.Second); failed503.Load() == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no write failed with 503 while the database was down")
		}
	}
	if err := c.Up(); err != nil {
		t.Fatal(err)
	}
	d.waitHealthy(30 * time.Second)
	recovered := written.Load()
	waitWrites(recovered + 20)
	close(stop)
	wg.Wait()
	t.Logf("%d writes acknowledged, %d refused with 503 while PostgreSQL was down", written.Load(), failed503.Load())
	// No acknowledged write is lost.
	mu.Lock()
	defer mu.Unlock()
	for key, val := range acked {
		r := do(t, "GET", d.url+"/ledger/records/"+key, nil)
		if r.status != 200 || r.json["value"] != val {
			t.Errorf("acknowledged %s=%s: GET = %d %s", key, val, r.status, r.body)
		}
	}
	select {
	case <-d.done:
		t.Fatal("the daemon exited")
	default:
	}
}

// TestPostgresServeFailsFast: serve stops with a clear error, and without
// the password, when the database cannot be reached or refuses the
// credentials; config validate does not print the password either.
func TestPostgresServeFailsFast(t *testing.T) {
	c := pg.Get(t)
	dsn := c.NewDatabase(t)
	wrong := strings.Replace(dsn, c.Password(), "wrong-pass-123", 1)
	closed := freePort(t)
	unreachable := strings.Replace(dsn, fmt.Sprintf("127.0.0.1:%d", c.Port()), closed, 1)
	tests := []struct {
		name   string
		dsn    string
		want   string
		secret string
	}{
		{"fail/wrong-password", wrong, "password authentication failed", "wrong-pass-123"},
		{"fail/unreachable", unreachable, "database unavailable", c.Password()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := writeConfig(t, dir, daemonOpts{Storage: pgStorage(tt.dsn)}, freePort(t), nil)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			out, err := exec.CommandContext(ctx, bins.daemon, "serve", "-config", cfg).CombinedOutput()
			if err == nil {
				t.Fatalf("serve succeeded:\n%s", out)
			}
			if !strings.Contains(string(out), tt.want) {
				t.Errorf("serve output lacks %q:\n%s", tt.want, tail(string(out), 10))
			}
			if strings.Contains(string(out), tt.secret) {
				t.Errorf("serve output shows the password:\n%s", out)
			}
			out, _ = exec.CommandContext(ctx, bins.daemon, "config", "validate", "-config", cfg).CombinedOutput()
			if strings.Contains(string(out), tt.secret) {
				t.Errorf("config validate shows the password:\n%s", out)
			}
		})
	}
}
