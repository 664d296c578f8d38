package store

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// helperEnv names the database path handed to the helper process; its
// presence is what turns TestHelperProcess into the helper.
const helperEnv = "AUNSORM_STORE_HELPER_DB"

// helperRows bounds the helper's work in case it is never killed.
const helperRows = 100000

// TestHelperProcess is not a real test: run by TestKillDurability as a child
// process, it inserts rows one transaction at a time and prints "ack <id>"
// after each commit returns.
func TestHelperProcess(t *testing.T) {
	path := os.Getenv(helperEnv)
	if path == "" {
		t.Skip("helper process for TestKillDurability")
	}
	ctx := context.Background()
	db, err := Open(ctx, Options{Path: path, Migrations: itemsSchema})
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper: open:", err)
		os.Exit(2)
	}
	for id := 1; id <= helperRows; id++ {
		if err := insert(ctx, db, id); err != nil {
			fmt.Fprintln(os.Stderr, "helper: insert:", err)
			os.Exit(2)
		}
		// os.Stdout is unbuffered: the line is in the pipe once this returns.
		fmt.Fprintf(os.Stdout, "ack %d\n", id)
	}
	os.Exit(0)
}

func TestKillDurability(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	const killAfter = 30
	path := filepath.Join(t.TempDir(), "kill.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"="+path)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start helper: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	var acked []int
	killed := false
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		idText, ok := strings.CutPrefix(line, "ack ")
		if !ok {
			continue
		}
		id, err := strconv.Atoi(idText)
		if err != nil {
			t.Fatalf("helper printed %q", line)
		}
		acked = append(acked, id)
		if len(acked) == killAfter && !killed {
			// SIGKILL on Unix: no deferred code, no Close, no checkpoint.
			if err := cmd.Process.Kill(); err != nil {
				t.Fatalf("kill helper: %v", err)
			}
			killed = true
		}
		// Keep reading: every ack already in the pipe was committed.
	}
	err = cmd.Wait()
	if !killed {
		t.Fatalf("helper ended after %d acks without being killed: %v", len(acked), err)
	}
	if err == nil {
		t.Fatal("helper exited cleanly after SIGKILL")
	}
	if len(acked) >= helperRows {
		t.Fatal("helper finished before the kill landed; nothing was tested")
	}

	db, err := Open(t.Context(), Options{Path: path, Migrations: itemsSchema})
	if err != nil {
		t.Fatalf("reopen after kill: %v", err)
	}
	defer db.Close()
	present := map[int]bool{}
	rows, err := db.SQL().QueryContext(t.Context(), `SELECT id FROM items`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		present[id] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for _, id := range acked {
		if !present[id] {
			t.Errorf("acknowledged id %d lost after kill -9", id)
		}
	}
	var integrity string
	if err := db.SQL().QueryRowContext(t.Context(), `PRAGMA integrity_check`).Scan(&integrity); err != nil || integrity != "ok" {
		t.Errorf("integrity_check = %q, %v", integrity, err)
	}
	t.Logf("%d acknowledged rows, %d present after kill -9", len(acked), len(present))
}
