//go:build pprof

package main

import (
	"net/http"
	_ "net/http/pprof" // profiling endpoints, only in builds tagged pprof
	"os"
)

// Builds tagged `pprof` serve net/http/pprof on AUNSORM_PPROF_ADDR (a
// loopback address) for profiling under load; release builds do not.
func init() {
	if addr := os.Getenv("AUNSORM_PPROF_ADDR"); addr != "" {
		go func() { _ = http.ListenAndServe(addr, nil) }()
	}
}
