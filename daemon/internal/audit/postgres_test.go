package audit

import (
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/aunsorm/aunsorm/sdk/store"
	"github.com/aunsorm/aunsorm/sdk/store/pgtest"
)

var pg pgtest.Lazy

func TestMain(m *testing.M) {
	code := m.Run()
	pg.Stop()
	os.Exit(code)
}

// TestPostgresOneChainAcrossDaemons opens the log twice on one PostgreSQL
// database, as two daemons do, appends from both concurrently and checks
// that the records form one verifiable chain with no gap and no fork.
func TestPostgresOneChainAcrossDaemons(t *testing.T) {
	c := pg.Get(t)
	opts := store.Options{Driver: store.DriverPostgres, DSN: c.NewDatabase(t), Schema: "aunsorm_audit"}
	var logs []*Log
	for range 2 {
		l, err := OpenStore(t.Context(), opts)
		if err != nil {
			t.Fatalf("OpenStore: %v", err)
		}
		t.Cleanup(func() { _ = l.Close() })
		logs = append(logs, l)
	}
	const workers, each = 4, 25
	var wg sync.WaitGroup
	for w := range workers {
		l := logs[w%2]
		wg.Go(func() {
			for i := range each {
				if _, err := l.Append(t.Context(), Event{Source: "daemon", Action: "test.append",
					Subject: fmt.Sprintf("w%d-%d", w, i), Outcome: "ok"}); err != nil {
					t.Errorf("Append: %v", err)
				}
			}
		})
	}
	wg.Wait()
	for i, l := range logs {
		n, err := l.Verify(t.Context())
		if err != nil || n != workers*each {
			t.Errorf("daemon %d: Verify = %d, %v; want %d records", i, n, err, workers*each)
		}
		head, err := l.Head(t.Context())
		if err != nil || head.Seq != workers*each {
			t.Errorf("daemon %d: head = %d, %v", i, head.Seq, err)
		}
	}
	if err := logs[0].Ping(t.Context()); err != nil {
		t.Errorf("Ping: %v", err)
	}
}
