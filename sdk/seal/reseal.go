package seal

import (
	"context"
	"errors"
	"fmt"
)

// DefaultBatch is the batch size ResealAll uses when given zero.
const DefaultBatch = 100

// Row is one sealed value as the caller stores it.
type Row struct {
	// ID identifies the row to Table.Replace and orders the walk.
	ID string
	// AAD is the additional data the value was sealed under.
	AAD []byte
	// Sealed is the stored value.
	Sealed []byte
}

// Table is the caller's storage of sealed values, walked by ResealAll.
type Table interface {
	// Scan returns up to limit rows whose ID sorts after the given one, in
	// ID order; fewer than limit rows means the end of the table.
	Scan(ctx context.Context, after string, limit int) ([]Row, error)
	// Replace stores next in row id only if the row still holds prev (a
	// compare-and-swap, so a concurrent write is never overwritten) and
	// reports whether it did. It must be durable before it returns.
	Replace(ctx context.Context, id string, prev, next []byte) (bool, error)
}

// ResealStats counts what ResealAll did.
type ResealStats struct {
	// Scanned is the number of rows read.
	Scanned int
	// Resealed is the number of rows re-sealed under the current version.
	Resealed int
	// Raced is the number of stale rows changed by someone else meanwhile
	// (left as the other writer stored them).
	Raced int
	// Refused is the number of rows that did not open (see ErrRefused,
	// ErrUnknownVersion, ErrMalformed); they are left untouched.
	Refused int
}

// ResealAll walks t in batches of batch rows (DefaultBatch when zero) and
// re-seals every value under an older key version with the current one, so
// that the operator can later retire old root key versions. Run it in the
// background after a rotation; it is safe beside ordinary traffic because
// Replace is a compare-and-swap, and safe to interrupt and run again.
//
// A row that does not open does not stop the walk: it is counted in Refused
// and the returned error wraps the first such failure with the row's ID.
// A Scan or Replace error, or ctx ending, stops the walk.
func (s *Sealer) ResealAll(ctx context.Context, t Table, batch int) (ResealStats, error) {
	if batch <= 0 {
		batch = DefaultBatch
	}
	var st ResealStats
	var firstRefusal error
	after := ""
	for {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		rows, err := t.Scan(ctx, after, batch)
		if err != nil {
			return st, fmt.Errorf("seal: reseal: scan: %w", err)
		}
		for _, r := range rows {
			st.Scanned++
			next, changed, err := s.Reseal(r.AAD, r.Sealed)
			if err != nil {
				st.Refused++
				if firstRefusal == nil {
					firstRefusal = fmt.Errorf("seal: reseal: row %q: %w", r.ID, err)
				}
				continue
			}
			if !changed {
				continue
			}
			ok, err := t.Replace(ctx, r.ID, r.Sealed, next)
			if err != nil {
				return st, fmt.Errorf("seal: reseal: replace row %q: %w", r.ID, err)
			}
			if ok {
				st.Resealed++
			} else {
				st.Raced++
			}
		}
		if len(rows) < batch {
			break
		}
		last := rows[len(rows)-1].ID
		if last <= after {
			return st, fmt.Errorf("seal: reseal: Scan returned row %q after %q: IDs must increase", last, after)
		}
		after = last
	}
	if firstRefusal != nil {
		return st, errors.Join(firstRefusal, fmt.Errorf("seal: reseal: %d rows refused", st.Refused))
	}
	return st, nil
}
