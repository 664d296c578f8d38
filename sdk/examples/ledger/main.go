// Command aunsorm-plugin-ledger is the example of a stateful plugin: it
// keeps its records in the store the daemon's storage block chooses
// (store.OpenPlugin: SQLite in its data directory, or its own schema of a
// PostgreSQL database that several daemons share), audits every write,
// consumes single-use tokens, and runs a periodic job guarded by a lease so
// that one daemon among several runs it once per period. See README.md.
package main

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"

	"github.com/aunsorm/aunsorm/sdk/plugin"
	"github.com/aunsorm/aunsorm/sdk/store"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0"

// schemaGen selects the release's schema generation at build time, from one
// source tree: "1" (the default) or "2" (records gain a sealed secret),
// with -ldflags "-X main.schemaGen=2". See README.md.
var schemaGen = "1"

// ledgerPlugin implements plugin.Plugin, plugin.Closer.
type ledgerPlugin struct {
	mu   sync.Mutex
	db   *store.DB
	stop context.CancelFunc
	done chan struct{}
}

var (
	_ plugin.Plugin = (*ledgerPlugin)(nil)
	_ plugin.Closer = (*ledgerPlugin)(nil)
)

// Describe implements plugin.Plugin.
func (*ledgerPlugin) Describe() plugin.Descriptor {
	return plugin.Descriptor{
		Name:         "aunsorm-ledger",
		Kind:         "ledger",
		Version:      version,
		Routes:       []string{"/ledger/"},
		Capabilities: []string{"ledger:records", "ledger:single-use", "ledger:leased-job"},
		HostServices: []string{plugin.ServiceAudit},
	}
}

// Configure implements plugin.Plugin: it opens the store (running the
// migrations), starts the leased job and returns the handler.
func (p *ledgerPlugin) Configure(ctx context.Context, env *plugin.Env) (http.Handler, error) {
	cfg, err := loadConfig(env.Config)
	if err != nil {
		return nil, err
	}
	gen, err := strconv.Atoi(schemaGen)
	if err != nil {
		return nil, fmt.Errorf("%w: %q", errSchema, schemaGen)
	}
	ms, err := schemaFor(gen)
	if err != nil {
		return nil, err
	}
	if env.ValidateOnly {
		return nil, nil
	}
	var secrets sealer
	if gen >= 2 {
		if env.Sealer == nil {
			return nil, errNoSealer
		}
		secrets = env.Sealer
	}
	db, err := store.OpenPlugin(ctx, env, ms)
	if err != nil {
		return nil, err
	}
	// The holder id tells this process apart from the same plugin in the
	// other daemons on the database.
	var b [8]byte
	if _, err := io.ReadFull(env.Rand, b[:]); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("ledger: holder id: %w", err)
	}
	holder := env.InstanceName + "-" + hex.EncodeToString(b[:])
	j, err := newJob(db, cfg, holder, env.Clock.Now, env.Logger)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	life, stop := context.WithCancel(context.Background())
	p.mu.Lock()
	p.db, p.stop, p.done = db, stop, make(chan struct{})
	done := p.done
	p.mu.Unlock()
	go func() {
		defer close(done)
		j.run(life)
	}()
	env.Logger.Info().Str("instance", env.InstanceName).Str("store", db.Driver()).Str("holder", holder).Int("schema", gen).Msg("ledger configured")
	return newHandler(db, j, env.Host, secrets, env.Logger), nil
}

// Close implements plugin.Closer: it stops the job, releases its lease so
// another daemon takes over at once, and closes the store.
func (p *ledgerPlugin) Close(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.db == nil {
		return nil
	}
	p.stop()
	<-p.done
	return p.db.Close()
}

func main() { plugin.Serve(&ledgerPlugin{}) }
