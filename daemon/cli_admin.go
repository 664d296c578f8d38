package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aunsorm/aunsorm/daemon/internal/admin"
	"github.com/aunsorm/aunsorm/daemon/internal/config"
	"github.com/aunsorm/aunsorm/daemon/internal/supervisor"
	"github.com/aunsorm/aunsorm/sdk/pluginhost"
)

// adminFlags are shared by the commands that talk to a running daemon.
type adminFlags struct {
	config string
	socket string
}

func (a *adminFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&a.config, "config", "config.hcl", "configuration file (to find the admin socket)")
	fs.StringVar(&a.socket, "socket", "", "admin socket path (overrides -config)")
}

// client returns an HTTP client speaking to the admin unix socket.
func (a *adminFlags) client(getenv func(string) string) (*http.Client, error) {
	path := a.socket
	if path == "" {
		cfg, diags := config.Load(a.config, getenv)
		if err := config.Err(diags); err != nil {
			return nil, err
		}
		path = cfg.Admin.Socket
	}
	token, err := os.ReadFile(admin.TokenPath(path))
	if err != nil {
		return nil, fmt.Errorf("cannot read the admin token (run as the daemon's user; is it running?): %w", err)
	}
	return &http.Client{Timeout: 5 * time.Minute, Transport: bearer{token: strings.TrimSpace(string(token)), next: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
	}}}, nil
}

// bearer adds the admin socket's token to every request.
type bearer struct {
	token string
	next  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(r)
}

func adminCall(ctx context.Context, c *http.Client, method, path string, out any) (int, error) {
	req, err := http.NewRequestWithContext(ctx, method, "http://aunsormd"+path, nil)
	if err != nil {
		return 0, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, fmt.Errorf("cannot reach the daemon's admin socket: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return resp.StatusCode, err
	}
	if err := json.Unmarshal(body, out); err != nil {
		return resp.StatusCode, fmt.Errorf("admin API answered %d: %s", resp.StatusCode, bytes.TrimSpace(body))
	}
	return resp.StatusCode, nil
}

// runPlugin handles `aunsormd plugin ...`.
func runPlugin(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "sha256":
		if len(args) != 2 {
			fmt.Fprintln(stderr, "usage: aunsormd plugin sha256 PATH")
			return 2
		}
		d, err := pluginDigest(args[1])
		if err != nil {
			fmt.Fprintln(stderr, "aunsormd:", err)
			return 1
		}
		fmt.Fprintf(stdout, "%s  %s\n", d, args[1])
		return 0
	case "verify":
		return runVerify(ctx, args[1:], stdout, stderr)
	case "list", "reload":
	default:
		fmt.Fprintf(stderr, "aunsormd: unknown plugin command %q\n%s", args[0], usage)
		return 2
	}
	fs := flag.NewFlagSet("plugin "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	var af adminFlags
	af.register(fs)
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	c, err := af.client(getenv)
	if err != nil {
		fmt.Fprintln(stderr, "aunsormd:", err)
		return 1
	}
	if args[0] == "list" {
		var resp struct {
			Plugins []supervisor.Info `json:"plugins"`
		}
		if _, err := adminCall(ctx, c, http.MethodGet, "/v1/plugins", &resp); err != nil {
			fmt.Fprintln(stderr, "aunsormd:", err)
			return 1
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tKIND\tVERSION\tSTATUS\tPID\tRESTARTS\tUPTIME\tLISTENER\tSHA256\tSANDBOX")
		for _, p := range resp.Plugins {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%s\t%s\t%.12s\t%s\n", p.Name, p.Kind, p.Version, p.Status, p.PID, p.Restarts,
				(time.Duration(p.UptimeSec) * time.Second).String(), p.Listen, p.SHA256, p.Sandbox)
		}
		tw.Flush()
		return 0
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: aunsormd plugin reload [-config FILE | -socket PATH] NAME")
		return 2
	}
	return printReload(ctx, c, "/v1/plugins/"+fs.Arg(0)+"/reload", stdout, stderr)
}

// runReload handles `aunsormd reload`.
func runReload(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("reload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var af adminFlags
	af.register(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	c, err := af.client(getenv)
	if err != nil {
		fmt.Fprintln(stderr, "aunsormd:", err)
		return 1
	}
	return printReload(ctx, c, "/v1/reload", stdout, stderr)
}

func printReload(ctx context.Context, c *http.Client, path string, stdout, stderr io.Writer) int {
	var resp struct {
		Changes []supervisor.PluginChange `json:"changes"`
		Error   string                    `json:"error_description"`
	}
	status, err := adminCall(ctx, c, http.MethodPost, path, &resp)
	if err != nil {
		fmt.Fprintln(stderr, "aunsormd:", err)
		return 1
	}
	for _, ch := range resp.Changes {
		line := fmt.Sprintf("%s: %s", ch.Name, ch.Action)
		switch {
		case ch.OldVersion != "" && ch.NewVersion != "" && ch.OldVersion != ch.NewVersion:
			line += fmt.Sprintf(" (%s -> %s)", ch.OldVersion, ch.NewVersion)
		case ch.OldVersion != "" || ch.NewVersion != "":
			line += fmt.Sprintf(" (%s)", cmp.Or(ch.NewVersion, ch.OldVersion))
		}
		if ch.Error != "" {
			line += ": " + ch.Error
		}
		fmt.Fprintln(stdout, line)
	}
	if status != http.StatusOK {
		fmt.Fprintln(stderr, "aunsormd: reload failed:", resp.Error)
		return 1
	}
	return 0
}

// pluginDigest is the digest the sha256 pin compares against.
func pluginDigest(path string) (string, error) { return pluginhost.FileDigest(path) }
