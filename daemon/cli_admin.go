package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
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

// defaultConfig is the file the admin commands read when neither -config
// nor -socket is given, if it exists.
const defaultConfig = "config.hcl"

func (a *adminFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&a.config, "config", "", "the configuration file the daemon was started with (to find its admin socket; default "+defaultConfig+" when it exists)")
	fs.StringVar(&a.socket, "socket", "", "admin socket path (instead of -config)")
}

// errNoConfig says what to pass when there is nothing to find the socket by.
var errNoConfig = errors.New("no -config given and there is no " + defaultConfig + " here: pass the file the daemon was started with (-config config.hcl.example after `make run`) or the admin socket (-socket ./data/admin.sock)")

// socketPath returns the admin socket: -socket, or the one the
// configuration file names. The file is parsed only, so a plugin binary
// missing on disk does not stop an operator from asking the daemon.
func (a *adminFlags) socketPath(getenv func(string) string) (string, error) {
	if a.socket != "" {
		return a.socket, nil
	}
	path := a.config
	if path == "" {
		if _, err := os.Stat(defaultConfig); err != nil {
			return "", errNoConfig
		}
		path = defaultConfig
	}
	src, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("cannot read the configuration (pass -config FILE or -socket PATH): %w", err)
	}
	cfg, diags := config.Parse(src, path, getenv)
	if err := config.Err(diags); err != nil {
		return "", err
	}
	return cfg.Admin.Socket, nil
}

// client returns an HTTP client speaking to the admin unix socket.
func (a *adminFlags) client(getenv func(string) string) (*http.Client, error) {
	path, err := a.socketPath(getenv)
	if err != nil {
		return nil, err
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
		if fs.NArg() != 0 {
			fmt.Fprintln(stderr, "usage: aunsormd plugin list [-config FILE | -socket PATH]")
			return 2
		}
		var resp struct {
			Plugins []supervisor.Info `json:"plugins"`
		}
		if _, err := adminCall(ctx, c, http.MethodGet, "/v1/plugins", &resp); err != nil {
			fmt.Fprintln(stderr, "aunsormd:", err)
			return 1
		}
		printPlugins(stdout, resp.Plugins)
		return 0
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: aunsormd plugin reload [-config FILE | -socket PATH] NAME")
		return 2
	}
	return printReload(ctx, c, "/v1/plugins/"+url.PathEscape(fs.Arg(0))+"/reload", stdout, stderr)
}

// printPlugins writes the plugin table, then one line for each plugin that
// is not running: why, and when the next attempt is.
func printPlugins(w io.Writer, plugins []supervisor.Info) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tKIND\tVERSION\tSTATUS\tPID\tRESTARTS\tUPTIME\tLISTENER\tSHA256\tSANDBOX")
	for _, p := range plugins {
		pid, uptime := "-", "-"
		if p.Status == supervisor.StatusRunning {
			pid, uptime = strconv.Itoa(p.PID), (time.Duration(p.UptimeSec) * time.Second).String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%.12s\t%s\n", p.Name, cmp.Or(p.Kind, "-"), cmp.Or(p.Version, "-"),
			p.Status, pid, p.Restarts, uptime, p.Listen, cmp.Or(p.SHA256, "-"), cmp.Or(p.Sandbox, "-"))
	}
	tw.Flush()
	for _, p := range plugins {
		if p.Status == supervisor.StatusRunning {
			continue
		}
		line := p.Name + ": " + p.Status
		if p.LastError != "" {
			line += ": " + firstLine(p.LastError)
		}
		if !p.NextAttempt.IsZero() {
			line += fmt.Sprintf("; next attempt at %s (in %s)", p.NextAttempt.UTC().Format(time.RFC3339),
				(time.Duration(p.NextAttemptSec * float64(time.Second))).Round(100*time.Millisecond))
		}
		fmt.Fprintln(w, line)
	}
}

// firstLine returns s up to its first line break, marked when cut.
func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " …"
	}
	return s
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
		Changes     []supervisor.PluginChange `json:"changes"`
		Code        string                    `json:"error"`
		Error       string                    `json:"error_description"`
		Diagnostics []string                  `json:"diagnostics"`
	}
	status, err := adminCall(ctx, c, http.MethodPost, path, &resp)
	if err != nil {
		fmt.Fprintln(stderr, "aunsormd:", err)
		return 1
	}
	if resp.Code == "reload_refused" {
		// As `config validate` prints them: one diagnostic per line.
		for _, d := range resp.Diagnostics {
			fmt.Fprintln(stderr, d)
		}
		fmt.Fprintln(stderr, "aunsormd: reload refused: the configuration has errors; nothing was changed")
		return 1
	}
	explained := false
	for _, ch := range resp.Changes {
		line := fmt.Sprintf("%s: %s", ch.Name, ch.Action)
		switch {
		case ch.OldVersion != "" && ch.NewVersion != "" && ch.OldVersion != ch.NewVersion:
			line += fmt.Sprintf(" (%s -> %s)", ch.OldVersion, ch.NewVersion)
		case ch.OldVersion != "" || ch.NewVersion != "":
			line += fmt.Sprintf(" (%s)", cmp.Or(ch.NewVersion, ch.OldVersion))
		}
		fmt.Fprintln(stdout, line)
		// A multi-line cause keeps its lines, indented under the plugin.
		if ch.Error != "" {
			explained = true
			for _, l := range strings.Split(ch.Error, "\n") {
				fmt.Fprintln(stdout, "  "+l)
			}
		}
	}
	if status != http.StatusOK {
		switch {
		case explained:
			fmt.Fprintln(stderr, "aunsormd: reload failed; the plugins marked rolled_back keep serving with their previous process")
		case resp.Error != "":
			fmt.Fprintln(stderr, "aunsormd: reload failed:", resp.Error)
		default:
			fmt.Fprintf(stderr, "aunsormd: reload failed: the admin API answered %d\n", status)
		}
		return 1
	}
	return 0
}

// pluginDigest is the digest the sha256 pin compares against.
func pluginDigest(path string) (string, error) { return pluginhost.FileDigest(path) }
