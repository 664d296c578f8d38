// Command loadgen is a small HTTP load generator for Aunsorm's benchmarks
// (scripts/bench.sh). It sends -n requests (or runs for -duration) from -c
// concurrent workers sharing one keep-alive connection pool, optionally paced
// to -rate requests per second, and reports throughput, latency percentiles
// (p50/p90/p99/max over every response), status code counts and transport
// errors by class. Request failures are reported, never fatal: the exit code
// is non-zero only for a bad command line.
//
//	loadgen -url http://127.0.0.1:50010/crypto/encrypt -method POST \
//	    -body-file req.json -n 20000 -c 32 -json
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the whole command; it returns the exit code: 0 after a run
// (whatever the requests returned), 2 for a usage error.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, asJSON, err := parseFlags(args, stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errFlagSyntax):
		return 2 // the flag package has printed the problem and the usage
	case err != nil:
		fmt.Fprintln(stderr, err)
		return 2
	}
	res, err := Run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	if asJSON {
		err = res.WriteJSON(stdout, cfg)
	} else {
		err = res.WriteText(stdout, cfg)
	}
	if err != nil {
		fmt.Fprintln(stderr, "loadgen:", err)
	}
	return 0
}

// parseFlags turns the command line into a checked Config.
func parseFlags(args []string, stderr io.Writer) (Config, bool, error) {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		headers  headerFlag
		cfg      Config
		body     = fs.String("body", "", "request body (literal)")
		bodyFile = fs.String("body-file", "", "file holding the request body")
		cacert   = fs.String("cacert", "", "PEM file of the CA to trust for https (replaces the system roots)")
		asJSON   = fs.Bool("json", false, "print a JSON summary instead of text")
	)
	fs.StringVar(&cfg.URL, "url", "", "target URL (http or https)")
	fs.StringVar(&cfg.Method, "method", http.MethodGet, "GET or POST")
	fs.Var(&headers, "header", "extra header `name:value` (repeatable); POST bodies default to Content-Type: application/json")
	fs.IntVar(&cfg.Requests, "n", 20000, "total requests (with -duration: a cap, only when given)")
	fs.IntVar(&cfg.Concurrency, "c", 32, "concurrent workers (and idle connections)")
	fs.Float64Var(&cfg.Rate, "rate", 0, "pace request starts to this many per second (0 = as fast as possible); latency then counts from each request's due time")
	fs.DurationVar(&cfg.Duration, "duration", 0, "run for this long instead of -n requests")
	fs.DurationVar(&cfg.Timeout, "timeout", 10*time.Second, "per-request timeout")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return Config{}, false, err
		}
		return Config{}, false, fmt.Errorf("%w: %w", errFlagSyntax, err)
	}
	if fs.NArg() > 0 {
		return Config{}, false, fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	cfg.Method = strings.ToUpper(cfg.Method)
	cfg.Header = headers.h
	if cfg.Duration > 0 {
		nSet := false
		fs.Visit(func(f *flag.Flag) { nSet = nSet || f.Name == "n" })
		if !nSet {
			cfg.Requests = 0
		}
	}
	switch {
	case *body != "" && *bodyFile != "":
		return Config{}, false, fmt.Errorf("%w: give -body or -body-file, not both", errUsage)
	case *body != "":
		cfg.Body = []byte(*body)
	case *bodyFile != "":
		b, err := os.ReadFile(*bodyFile)
		if err != nil {
			return Config{}, false, fmt.Errorf("%w: -body-file: %w", errUsage, err)
		}
		cfg.Body = b
	}
	if *cacert != "" {
		pool, err := loadCACerts(*cacert)
		if err != nil {
			return Config{}, false, fmt.Errorf("%w: -cacert: %w", errUsage, err)
		}
		cfg.RootCAs = pool
	}
	if err := cfg.check(); err != nil {
		return Config{}, false, err
	}
	return cfg, *asJSON, nil
}
