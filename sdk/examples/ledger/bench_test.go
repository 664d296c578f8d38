package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aunsorm/aunsorm/sdk/plugin"
	"github.com/aunsorm/aunsorm/sdk/store"
)

// BenchmarkWriteRead measures a PUT (durable, audited) followed by a GET
// of the same record through the plugin's handler, on each engine side by
// side. scripts/bench-storage.sh prints the two rates together.
func BenchmarkWriteRead(b *testing.B) {
	envs := []struct {
		name string
		env  func(b *testing.B) *plugin.Env
	}{
		{store.DriverSQLite, func(b *testing.B) *plugin.Env { return &plugin.Env{InstanceName: "ledger", DataDir: b.TempDir()} }},
		{store.DriverPostgres, func(b *testing.B) *plugin.Env {
			dsn := pg.Get(b).NewDatabase(b)
			return (&plugin.Env{InstanceName: "ledger"}).WithStorage(plugin.Storage{Driver: store.DriverPostgres, DSN: dsn})
		}},
	}
	for _, e := range envs {
		b.Run(e.name, func(b *testing.B) {
			f := newFixture(b, e.env(b), "bench").srv
			i := 0
			for b.Loop() {
				i++
				key := fmt.Sprintf("k%d", i%1000)
				req := httptest.NewRequest(http.MethodPut, "/ledger/records/"+key, strings.NewReader(`{"value":"v"}`))
				req.Header.Set("Content-Type", "application/json")
				rec := httptest.NewRecorder()
				f.ServeHTTP(rec, req)
				if rec.Code != 200 {
					b.Fatalf("PUT = %d %s", rec.Code, rec.Body)
				}
				rec = httptest.NewRecorder()
				f.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/ledger/records/"+key, nil))
				if rec.Code != 200 {
					b.Fatalf("GET = %d %s", rec.Code, rec.Body)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "roundtrips/s")
		})
	}
}
