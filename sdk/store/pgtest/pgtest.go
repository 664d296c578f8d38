// Package pgtest starts a private PostgreSQL cluster for tests: initdb into
// a temporary directory, a server on a free loopback port with password
// authentication, removed again when the tests end. Tests of the store, of
// the daemon's audit log and the end-to-end suite share it.
//
// The server binaries are looked up on PATH, then in
// /usr/lib/postgresql/*/bin (Debian's postgresql package). When they are
// missing the test is skipped with a loud message, except under CI (the
// CI environment variable set), where it fails: CI installs the package.
// Run as root, the cluster runs as the unprivileged postgres user (nobody
// when there is none), since PostgreSQL refuses to run as root.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	// database/sql driver "pgx".
	_ "github.com/jackc/pgx/v5/stdlib"
)

// User is the superuser of every cluster Start creates.
const User = "aunsorm"

// Cluster is a running private PostgreSQL server.
type Cluster struct {
	bin      string
	dir      string
	data     string
	password string
	port     int
	cred     *syscall.Credential

	mu  sync.Mutex
	seq int
}

// Lazy starts one cluster on first use and shares it among the tests of a
// package; TestMain calls Stop after m.Run.
type Lazy struct {
	once sync.Once
	c    *Cluster
	err  error
}

// Get returns the shared cluster, starting it on first use. When the
// binaries are missing it skips t (fails it under CI).
func (l *Lazy) Get(t testing.TB) *Cluster {
	t.Helper()
	bin, err := FindBin()
	if err != nil {
		Missing(t, err)
	}
	l.once.Do(func() { l.c, l.err = Start(bin) })
	if l.err != nil {
		t.Fatalf("pgtest: %v", l.err)
	}
	return l.c
}

// Stop stops the shared cluster, if one was started, and removes it.
func (l *Lazy) Stop() {
	if l.c != nil {
		l.c.Stop()
	}
}

// Missing skips t loudly, or fails it under CI, for missing PostgreSQL
// binaries.
func Missing(t testing.TB, err error) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("pgtest: %v (CI must install Debian's postgresql package)", err)
	}
	t.Skipf("\n\n*** SKIPPED: %v: install PostgreSQL (Debian: apt-get install postgresql) to run this test ***\n", err)
}

// FindBin returns the directory holding initdb, pg_ctl and postgres.
func FindBin() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		dir := filepath.Dir(p)
		if _, err := os.Stat(filepath.Join(dir, "pg_ctl")); err == nil {
			return dir, nil
		}
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	sort.Slice(matches, func(i, j int) bool { return versionOf(matches[i]) > versionOf(matches[j]) })
	for _, m := range matches {
		return filepath.Dir(m), nil
	}
	return "", errors.New("PostgreSQL server binaries (initdb, pg_ctl) not found on PATH nor in /usr/lib/postgresql/*/bin")
}

func versionOf(initdb string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(initdb))))
	return v
}

// Start creates and starts a cluster with the binaries in bin.
func Start(bin string) (*Cluster, error) {
	dir, err := os.MkdirTemp("", "aunsorm-pg-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{bin: bin, dir: dir, data: filepath.Join(dir, "data")}
	ok := false
	defer func() {
		if !ok {
			c.Stop()
		}
	}()
	raw := make([]byte, 16)
	if _, err := rand.Read(raw); err != nil {
		return nil, err
	}
	c.password = hex.EncodeToString(raw)
	if err := c.prepare(); err != nil {
		return nil, err
	}
	pwfile := filepath.Join(dir, "pw")
	if err := c.writeOwned(pwfile, c.password+"\n"); err != nil {
		return nil, err
	}
	if out, err := c.run("initdb", "-D", c.data, "-U", User, "--pwfile", pwfile, "-A", "scram-sha-256",
		"-E", "UTF8", "--locale=C", "--no-sync"); err != nil {
		return nil, fmt.Errorf("initdb: %w\n%s", err, out)
	}
	_ = os.Remove(pwfile)
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	c.port = port
	if err := c.start(); err != nil {
		return nil, err
	}
	ok = true
	return c, nil
}

// prepare makes the cluster's directory usable by the user the server runs
// as: when running as root, by the postgres (or nobody) system user.
func (c *Cluster) prepare() error {
	if os.Geteuid() != 0 {
		return nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		if u, err = user.Lookup("nobody"); err != nil {
			return fmt.Errorf("no unprivileged user to run PostgreSQL as: %w", err)
		}
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	if err := os.Chmod(c.dir, 0o711); err != nil {
		return err
	}
	// The temporary directory's parent must be traversable too.
	return os.Chown(c.dir, uid, gid)
}

// writeOwned writes a file the server's user can read.
func (c *Cluster) writeOwned(path, content string) error {
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		return err
	}
	if c.cred != nil {
		return os.Chown(path, int(c.cred.Uid), int(c.cred.Gid))
	}
	return nil
}

// run runs one of the server's programs as the server's user.
func (c *Cluster) run(name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(c.bin, name), args...)
	cmd.Dir = c.dir
	cmd.Env = []string{"LC_ALL=C", "PATH=" + c.bin + ":/usr/bin:/bin"}
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	}
	return cmd.CombinedOutput()
}

func (c *Cluster) start() error {
	opts := fmt.Sprintf("-p %d -c listen_addresses=127.0.0.1 -c unix_socket_directories='%s' -c max_connections=200",
		c.port, c.dir)
	if out, err := c.run("pg_ctl", "-D", c.data, "-l", filepath.Join(c.dir, "log"), "-o", opts, "-w", "-t", "60", "start"); err != nil {
		return fmt.Errorf("pg_ctl start: %w\n%s%s", err, out, c.Log())
	}
	return nil
}

// Log returns the server's log so far, for failure messages.
func (c *Cluster) Log() string {
	b, _ := os.ReadFile(filepath.Join(c.dir, "log"))
	return string(b)
}

// Stop stops the server at once and removes the cluster.
func (c *Cluster) Stop() {
	if c.dir == "" {
		return
	}
	if _, err := os.Stat(filepath.Join(c.data, "postmaster.pid")); err == nil {
		_, _ = c.run("pg_ctl", "-D", c.data, "-m", "immediate", "-w", "stop")
	}
	_ = os.RemoveAll(c.dir)
}

// Restart stops the server with mode fast (open connections are cut, as
// when an operator restarts it) and starts it again on the same port.
func (c *Cluster) Restart() error {
	if out, err := c.run("pg_ctl", "-D", c.data, "-m", "fast", "-w", "stop"); err != nil {
		return fmt.Errorf("pg_ctl stop: %w\n%s", err, out)
	}
	return c.start()
}

// Down stops the server with mode fast and leaves it stopped; Up starts it.
func (c *Cluster) Down() error {
	if out, err := c.run("pg_ctl", "-D", c.data, "-m", "fast", "-w", "stop"); err != nil {
		return fmt.Errorf("pg_ctl stop: %w\n%s", err, out)
	}
	return nil
}

// Up starts a server stopped by Down.
func (c *Cluster) Up() error { return c.start() }

// Port is the server's TCP port on 127.0.0.1.
func (c *Cluster) Port() int { return c.port }

// DSN returns a URL connection string for database db as the superuser.
func (c *Cluster) DSN(db string) string {
	return fmt.Sprintf("postgres://%s:%s@127.0.0.1:%d/%s?sslmode=disable", User, c.password, c.port, db)
}

// Password is the superuser's password (tests of redaction look for it).
func (c *Cluster) Password() string { return c.password }

// NewDatabase creates a fresh database and returns its DSN.
func (c *Cluster) NewDatabase(t testing.TB) string {
	t.Helper()
	c.mu.Lock()
	c.seq++
	name := fmt.Sprintf("t%d_%d", os.Getpid(), c.seq)
	c.mu.Unlock()
	db, err := sql.Open("pgx", c.DSN("postgres"))
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	defer db.Close()
	if _, err := db.ExecContext(context.Background(), `CREATE DATABASE `+name); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	return c.DSN(name)
}

// CountConnections returns how many client backends are connected to the
// database named in dsn, the test's own query not counted.
func (c *Cluster) CountConnections(t testing.TB, database string) int {
	t.Helper()
	db, err := sql.Open("pgx", c.DSN("postgres"))
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRowContext(context.Background(),
		`SELECT COUNT(*) FROM pg_stat_activity WHERE datname = $1 AND backend_type = 'client backend'`, database).Scan(&n); err != nil {
		t.Fatalf("pgtest: pg_stat_activity: %v", err)
	}
	return n
}

// freePort returns a TCP port free on 127.0.0.1 at the time of the call.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
