// Command stderrspam is a test plugin that writes hostile output: on every
// request to /spam/ it prints lines that break naive log parsers (go-plugin's
// own parser panics on some of them) to stderr and stdout, then answers.
package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/aunsorm/aunsorm/sdk/calibration"
	"github.com/aunsorm/aunsorm/sdk/plugin"
)

// init prints to stdout before the plugin handshake: the daemon must not
// mistake it for the handshake or fail to launch the plugin.
func init() {
	fmt.Println("hello from init, before the handshake")
	fmt.Println("1|2|tcp|but not a handshake")
}

type spam struct{}

// Describe declares the peer and audit host services only when the block's
// env says so, so tests can check that undeclared calls are refused. Each
// instance serves under its own prefix, /<SPAM_PREFIX>/ (default "spam").
func (spam) Describe() plugin.Descriptor {
	d := plugin.Descriptor{Name: "stderrspam", Kind: "test", Version: "1", Routes: []string{"/" + prefix() + "/"}}
	if os.Getenv("DECLARE_HOST_SERVICES") != "" {
		d.HostServices = []string{plugin.ServicePeer, plugin.ServiceAudit}
	}
	return d
}

func prefix() string {
	if p := os.Getenv("SPAM_PREFIX"); p != "" {
		return p
	}
	return "spam"
}

func (spam) Configure(_ context.Context, env *plugin.Env) (http.Handler, error) {
	if env.ValidateOnly {
		return nil, nil
	}
	mux := http.NewServeMux()
	p := "/" + prefix()
	// stamp signs the request's attested time with a key drawn at
	// start: the time the plugin signs must be the one the gateway
	// answered in X-Aunsorm-Attested-Time-Ms.
	seed := make([]byte, ed25519.SeedSize)
	if _, err := io.ReadFull(env.Rand, seed); err != nil {
		return nil, err
	}
	key := ed25519.NewKeyFromSeed(seed)
	mux.HandleFunc(p+"/stamp", func(w http.ResponseWriter, r *http.Request) {
		now, ok := calibration.Now(r.Context())
		if !ok {
			http.Error(w, "no attested time", http.StatusServiceUnavailable)
			return
		}
		ms := strconv.FormatInt(now.UnixMilli(), 10)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"time_ms": ms,
			"public_key": base64.StdEncoding.EncodeToString(key.Public().(ed25519.PublicKey)),
			"signature":  base64.StdEncoding.EncodeToString(ed25519.Sign(key, []byte(ms)))})
	})
	// whoami reports who the daemon says is calling (peer calls only).
	mux.HandleFunc(p+"/whoami", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"caller": r.Header.Get("X-Aunsorm-Caller")})
	})
	// headers reports the request as the handler sees it and answers with
	// hop-by-hop fields the gateway must not pass on.
	mux.HandleFunc(p+"/headers", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h := w.Header()
		h.Set("Connection", "X-Private")
		h.Set("X-Private", "plugin-only")
		h.Set("Keep-Alive", "timeout=5")
		h.Set("X-Request-Id", "set-by-plugin")
		h.Add("X-Answer", "a")
		h.Add("X-Answer", "b")
		h.Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"method": r.Method, "uri": r.RequestURI, "host": r.Host, "remote": r.RemoteAddr,
			"header": r.Header, "body": string(body), "length": r.ContentLength,
		})
	})
	// call makes a peer call and an audit append through the host and
	// reports both outcomes.
	// Without ?plugin= it only appends, and reports the receipt.
	mux.HandleFunc(p+"/call", func(w http.ResponseWriter, r *http.Request) {
		out := map[string]any{}
		if callee := r.URL.Query().Get("plugin"); callee != "" {
			resp, err := env.Host.Peer(r.Context(), callee, "GET", r.URL.Query().Get("path"), nil, nil)
			if err != nil {
				out["peer_error"] = err.Error()
			} else {
				out["peer_status"], out["peer_body"] = resp.Status, string(resp.Body)
			}
		}
		if rc, err := env.Host.Audit(r.Context(), plugin.AuditEvent{Action: "test.call", Subject: "x", Outcome: "ok"}); err != nil {
			out["audit_error"] = err.Error()
		} else {
			out["audit"], out["audit_seq"], out["audit_hash"] = "ok", rc.Sequence, rc.HashHex
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	})
	// /spam/env reports what the process inherited: its environment and its
	// open file descriptors.
	// Descriptors are found with fcntl, not by listing /proc/self/fd,
	// which a confined plugin may not read.
	mux.HandleFunc(p+"/env", func(w http.ResponseWriter, r *http.Request) {
		var names []string
		for fd := 0; fd < 1024; fd++ {
			if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil {
				continue
			}
			target, _ := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
			names = append(names, strconv.Itoa(fd)+"="+target)
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"env": os.Environ(), "fds": names})
	})
	// read and write try a file at ?path= and report what happened, to
	// show what a (confined) plugin can reach.
	mux.HandleFunc(p+"/read", func(w http.ResponseWriter, r *http.Request) {
		b, err := os.ReadFile(r.URL.Query().Get("path"))
		out := map[string]any{"bytes": len(b)}
		if err != nil {
			out["error"] = err.Error()
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	})
	// dial opens a TCP connection to ?addr= and reports the outcome.
	mux.HandleFunc(p+"/dial", func(w http.ResponseWriter, r *http.Request) {
		out := map[string]any{}
		if c, err := net.DialTimeout("tcp", r.URL.Query().Get("addr"), 5*time.Second); err != nil {
			out["error"] = err.Error()
		} else {
			c.Close()
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	})
	// tmp creates a temporary file where the plugin's TMPDIR says.
	mux.HandleFunc(p+"/tmp", func(w http.ResponseWriter, r *http.Request) {
		out := map[string]any{"dir": os.TempDir()}
		if f, err := os.CreateTemp("", "probe-"); err != nil {
			out["error"] = err.Error()
		} else {
			f.Close()
			os.Remove(f.Name())
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	})
	// settime, rawsocket and execwritten try what a plugin must not be
	// allowed to do, and report the error: set the host clock (to the time
	// it already has, should it succeed), open a raw socket, and run a
	// program it has just written where it may write.
	mux.HandleFunc(p+"/settime", func(w http.ResponseWriter, r *http.Request) {
		var ts unix.Timespec
		err := unix.ClockGettime(unix.CLOCK_REALTIME, &ts)
		if err == nil {
			err = unix.ClockSettime(unix.CLOCK_REALTIME, &ts)
		}
		report(w, map[string]any{}, err)
	})
	mux.HandleFunc(p+"/rawsocket", func(w http.ResponseWriter, r *http.Request) {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_ICMP)
		if err == nil {
			unix.Close(fd)
		}
		report(w, map[string]any{}, err)
	})
	mux.HandleFunc(p+"/execwritten", func(w http.ResponseWriter, r *http.Request) {
		out := map[string]any{}
		f, err := os.CreateTemp("", "written-*.sh")
		if err != nil {
			report(w, out, err)
			return
		}
		defer os.Remove(f.Name())
		_, err = f.WriteString("#!/bin/sh\necho ran\n")
		if err == nil {
			err = f.Chmod(0o700)
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			var b []byte
			b, err = exec.Command(f.Name()).Output()
			out["output"] = string(b)
		}
		report(w, out, err)
	})
	mux.HandleFunc(p+"/write", func(w http.ResponseWriter, r *http.Request) {
		out := map[string]any{}
		if err := os.WriteFile(r.URL.Query().Get("path"), []byte("written by "+p), 0o600); err != nil {
			out["error"] = err.Error()
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	})
	mux.HandleFunc(p+"/", func(w http.ResponseWriter, r *http.Request) {
		lines := []string{
			`{"@timestamp":1}`,
			`{"@level":7,"@message":{"x":1},"@timestamp":[]}`,
			`{"level":null,"message":12}`,
			`not json at all`,
			`{"unterminated": "`,
			string([]byte{0xff, 0xfe, 0x00, 0x01, 0x80, '\t'}),
			strings.Repeat("A", 2<<20), // a 2 MiB line
			`{"level":"panic","message":"a plugin cannot make the daemon panic"}`,
			`{"level":"fatal","message":"nor exit"}`,
		}
		// fd 2 is the raw stderr the daemon reads; os.Stderr and os.Stdout
		// were redirected by go-plugin and reach the daemon over gRPC.
		raw := os.NewFile(2, "raw-stderr")
		for _, l := range lines {
			fmt.Fprintln(raw, l)
			fmt.Fprintln(os.Stderr, l)
			fmt.Fprintln(os.Stdout, l)
		}
		if r.URL.Query().Get("flood") != "" {
			var b bytes.Buffer
			for i := 0; i < 20000; i++ {
				fmt.Fprintf(&b, "flood line %d\n", i)
			}
			_, _ = raw.Write(b.Bytes())
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true}`))
	})
	return mux, nil
}

// report answers out as JSON, with err's text under "error" when not nil.
func report(w http.ResponseWriter, out map[string]any, err error) {
	if err != nil {
		out["error"] = err.Error()
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

func main() { plugin.Serve(spam{}) }
