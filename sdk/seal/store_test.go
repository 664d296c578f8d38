package seal_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"testing"

	"github.com/aunsorm/aunsorm/sdk/seal"
	"github.com/aunsorm/aunsorm/sdk/store"
)

// secrets is a seal.Table over an sdk/store table
// secrets(id TEXT PRIMARY KEY, sealed BLOB), the shape a plugin uses.
type secrets struct{ db *store.DB }

var _ seal.Table = secrets{}

func aadOf(id string) []byte { return []byte("secrets/" + id + "/sealed") }

func (s secrets) put(ctx context.Context, sealer *seal.Sealer, id string, value []byte) error {
	sealed, err := sealer.Seal(aadOf(id), value)
	if err != nil {
		return err
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.db.Rebind(`INSERT INTO secrets (id, sealed) VALUES (?, ?)
			ON CONFLICT (id) DO UPDATE SET sealed = excluded.sealed`), id, sealed)
		return err
	})
}

func (s secrets) get(ctx context.Context, sealer *seal.Sealer, id string) ([]byte, bool, error) {
	var sealed []byte
	if err := s.db.SQL().QueryRowContext(ctx, s.db.Rebind(`SELECT sealed FROM secrets WHERE id = ?`), id).Scan(&sealed); err != nil {
		return nil, false, err
	}
	return sealer.Open(aadOf(id), sealed)
}

// Scan implements seal.Table.
func (s secrets) Scan(ctx context.Context, after string, limit int) ([]seal.Row, error) {
	rows, err := s.db.SQL().QueryContext(ctx, s.db.Rebind(`SELECT id, sealed FROM secrets WHERE id > ? ORDER BY id LIMIT ?`), after, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []seal.Row
	for rows.Next() {
		var r seal.Row
		if err := rows.Scan(&r.ID, &r.Sealed); err != nil {
			return nil, err
		}
		r.AAD = aadOf(r.ID)
		out = append(out, r)
	}
	return out, rows.Err()
}

// Replace implements seal.Table: a compare-and-swap in one statement.
func (s secrets) Replace(ctx context.Context, id string, prev, next []byte) (bool, error) {
	var n int64
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.db.Rebind(`UPDATE secrets SET sealed = ? WHERE id = ? AND sealed = ?`), next, id, prev)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n == 1, err
}

func openSecrets(ctx context.Context, dir string) (secrets, error) {
	db, err := store.Open(ctx, store.Options{
		Path:       filepath.Join(dir, "state.db"),
		Migrations: []store.Migration{{Version: 1, Name: "secrets", Up: `CREATE TABLE secrets (id TEXT PRIMARY KEY, sealed BLOB NOT NULL)`}},
	})
	return secrets{db: db}, err
}

func keyOf(b byte) []byte { return bytes.Repeat([]byte{b}, seal.KeySize) }

// TestStoreTamper: rows edited or swapped in the store are refused; another
// instance's keys open nothing; after a rotation ResealAll moves the rest.
func TestStoreTamper(t *testing.T) {
	ctx := context.Background()
	tbl, err := openSecrets(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.db.Close()
	v1, _ := seal.New(rand.Reader, seal.Key{Version: 1, Secret: keyOf(1)})
	for i := range 10 {
		if err := tbl.put(ctx, v1, fmt.Sprintf("k%02d", i), []byte(fmt.Sprintf("secret %d", i))); err != nil {
			t.Fatal(err)
		}
	}
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := tbl.db.SQL().ExecContext(ctx, q, args...); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("fail/bit-flipped-in-store", func(t *testing.T) {
		// Flip one bit of the stored value, behind the sealer's back.
		var sealed []byte
		if err := tbl.db.SQL().QueryRowContext(ctx, `SELECT sealed FROM secrets WHERE id = 'k01'`).Scan(&sealed); err != nil {
			t.Fatal(err)
		}
		sealed[len(sealed)/2] ^= 0x10
		exec(`UPDATE secrets SET sealed = ? WHERE id = 'k01'`, sealed)
		if _, _, err := tbl.get(ctx, v1, "k01"); !errors.Is(err, seal.ErrRefused) {
			t.Fatalf("tampered row: %v", err)
		}
	})
	t.Run("fail/rows-swapped-in-store", func(t *testing.T) {
		exec(`UPDATE secrets SET sealed = (SELECT sealed FROM secrets WHERE id = 'k03') WHERE id = 'k02'`)
		if _, _, err := tbl.get(ctx, v1, "k02"); !errors.Is(err, seal.ErrRefused) {
			t.Fatalf("swapped row: %v", err)
		}
	})
	t.Run("fail/other-instance", func(t *testing.T) {
		other, _ := seal.New(rand.Reader, seal.Key{Version: 1, Secret: keyOf(9)})
		if _, _, err := tbl.get(ctx, other, "k04"); !errors.Is(err, seal.ErrRefused) {
			t.Fatalf("another instance's key: %v", err)
		}
	})
	t.Run("ok/rotation-and-reseal", func(t *testing.T) {
		v2, _ := seal.New(rand.Reader, seal.Key{Version: 1, Secret: keyOf(1)}, seal.Key{Version: 2, Secret: keyOf(2)})
		st, err := v2.ResealAll(ctx, tbl, 3)
		if !errors.Is(err, seal.ErrRefused) || st.Scanned != 10 || st.Resealed != 8 || st.Refused != 2 {
			t.Fatalf("ResealAll: %+v, %v", st, err)
		}
		for _, i := range []int{0, 3, 4, 5, 6, 7, 8, 9} {
			pt, stale, err := tbl.get(ctx, v2, fmt.Sprintf("k%02d", i))
			if err != nil || stale || string(pt) != fmt.Sprintf("secret %d", i) {
				t.Fatalf("k%02d after reseal: %q stale=%v %v", i, pt, stale, err)
			}
		}
	})
}

// ExampleSealer_ResealAll re-seals a plugin's sdk/store table after a root
// key rotation: implement seal.Table (Scan in id order, Replace as a
// compare-and-swap) and run ResealAll in the background.
func ExampleSealer_ResealAll() {
	dir, err := os.MkdirTemp("", "seal-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	tbl, err := openSecrets(ctx, dir)
	if err != nil {
		log.Fatal(err)
	}
	defer tbl.db.Close()

	v1, _ := seal.New(rand.Reader, seal.Key{Version: 1, Secret: keyOf(1)})
	for _, id := range []string{"a", "b", "c"} {
		if err := tbl.put(ctx, v1, id, []byte("secret "+id)); err != nil {
			log.Fatal(err)
		}
	}
	// The next Configure after `aunsormd seal rotate` brings version 2.
	v2, _ := seal.New(rand.Reader, seal.Key{Version: 1, Secret: keyOf(1)}, seal.Key{Version: 2, Secret: keyOf(2)})
	stats, err := v2.ResealAll(ctx, tbl, seal.DefaultBatch)
	fmt.Printf("%+v %v\n", stats, err)
	value, stale, _ := tbl.get(ctx, v2, "b")
	fmt.Println(string(value), stale)
	// Output:
	// {Scanned:3 Resealed:3 Raced:0 Refused:0} <nil>
	// secret b false
}
