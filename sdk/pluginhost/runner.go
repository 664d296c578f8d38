package pluginhost

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"sync/atomic"
	"syscall"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin/runner"
	"github.com/rs/zerolog"

	"github.com/aunsorm/aunsorm/sdk/sandbox"
)

// handshakeLine matches go-plugin's handshake: core|app|net|addr|protocol[|cert].
var handshakeLine = regexp.MustCompile(`^\d+\|\d+\|(tcp|unix)\|[^|]+\|(grpc|netrpc)(\|.*)?$`)

// procRunner starts the plugin process like go-plugin's own runner, with
// two differences: the plugin gets no stdin, and anything the plugin prints
// on stdout before its handshake line (an init function's fmt.Println, a
// library banner) is passed to the daemon's log instead of breaking the
// handshake.
type procRunner struct {
	cmd     *exec.Cmd
	stdout  io.ReadCloser
	stderr  io.ReadCloser
	noise   io.Writer
	pin     string
	digests *DigestCache
	pid     int
	confine *confinement
	// socketDir is where go-plugin has the plugin create its sockets.
	socketDir string
	// killed is set when the host ends the process itself (Client.Kill,
	// or go-plugin through Kill): its exit by SIGKILL is then expected.
	killed *atomic.Bool
}

// confinement is a launch's sandbox: what was asked for and what it got.
// Privileges are dropped whether or not Landlock was asked for.
type confinement struct {
	policy     *sandbox.Policy // Landlock's paths; nil: sandbox = "off"
	required   bool
	credential *sandbox.Credential
	log        zerolog.Logger
	state      string               // set when the process starts
	applied    *sandbox.Confinement // likewise; Release after the process has exited
}

// start starts cmd confined as asked; socketDir (go-plugin's, for the
// plugin's own sockets) is writable.
func (c *confinement) start(cmd *exec.Cmd, socketDir string) error {
	p := sandbox.Policy{Landlock: sandbox.LandlockOff}
	if c.policy != nil {
		p = *c.policy
		p.Landlock = sandbox.LandlockAuto
		if c.required {
			p.Landlock = sandbox.LandlockRequired
		}
		if socketDir != "" {
			p.Write = append(slices.Clip(p.Write), socketDir)
		}
	}
	p.Credential = c.credential
	applied, err := sandboxStart(cmd, p)
	if err != nil {
		return err // Launch names the plugin and wraps ErrLaunch
	}
	c.applied = applied
	switch {
	case c.policy == nil:
		c.state = "off"
	case applied.Landlock > 0:
		c.state = "landlock ABI " + strconv.Itoa(applied.Landlock)
	default:
		c.state = "unavailable"
		c.log.Warn().Msg("the plugin runs without Landlock: this kernel cannot confine its files (sandbox = \"required\" refuses to start it instead)")
	}
	return nil
}

func newProcRunner(cmd *exec.Cmd, noise io.Writer) (*procRunner, error) {
	cmd.Stdin = nil
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	errPipe, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	return &procRunner{cmd: cmd, stdout: out, stderr: errPipe, noise: noise}, nil
}

// Start implements runner.Runner.
func (r *procRunner) Start(context.Context) error {
	// Check the pin again right before exec, to keep the window in which
	// the file could be replaced as short as possible.
	if r.pin != "" {
		if d, err := r.digests.Digest(r.cmd.Path); err != nil || d != r.pin {
			return fmt.Errorf("%w: %s changed on disk before it was started", ErrDigestMismatch, r.cmd.Path)
		}
	}
	if err := r.confine.start(r.cmd, r.socketDir); err != nil {
		return err
	}
	r.pid = r.cmd.Process.Pid
	r.stdout = &handshakeFilter{r: bufio.NewReaderSize(r.stdout, 64<<10), closer: r.stdout, noise: r.noise}
	return nil
}

// Wait implements runner.Runner. An exit the host caused (it killed the
// process after a validate-only run, a stop or a failed start) is not an
// error: go-plugin would log "plugin process exited … signal: killed" at
// error level for it, after runs that went well.
func (r *procRunner) Wait(context.Context) error {
	err := r.cmd.Wait()
	if r.confine != nil {
		r.confine.applied.Release()
	}
	if err != nil && r.killed != nil && r.killed.Load() && killedBySignal(r.cmd.ProcessState) {
		return nil
	}
	return err
}

// killedBySignal reports whether the process ended by SIGKILL.
func killedBySignal(ps *os.ProcessState) bool {
	if ps == nil {
		return false
	}
	ws, ok := ps.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
}

// Kill implements runner.Runner.
func (r *procRunner) Kill(context.Context) error {
	if r.cmd.Process == nil {
		return nil
	}
	if r.killed != nil {
		r.killed.Store(true)
	}
	if err := r.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	return nil
}

// Stdout implements runner.Runner.
func (r *procRunner) Stdout() io.ReadCloser { return r.stdout }

// Stderr implements runner.Runner.
func (r *procRunner) Stderr() io.ReadCloser { return r.stderr }

// Name implements runner.Runner.
func (r *procRunner) Name() string { return r.cmd.Path }

// ID implements runner.Runner.
func (r *procRunner) ID() string { return strconv.Itoa(r.pid) }

// Diagnose implements runner.Runner.
func (r *procRunner) Diagnose(context.Context) string {
	return fmt.Sprintf("%s did not complete the plugin handshake: is it an Aunsorm plugin built with sdk/plugin.Serve?", r.cmd.Path)
}

// PluginToHost implements runner.AddrTranslator.
func (r *procRunner) PluginToHost(n, a string) (string, string, error) { return n, a, nil }

// HostToPlugin implements runner.AddrTranslator.
func (r *procRunner) HostToPlugin(n, a string) (string, string, error) { return n, a, nil }

var _ runner.Runner = (*procRunner)(nil)

// handshakeFilter drops stdout lines before the handshake line into noise
// (at most maxNoiseLines, each cut at 4 KiB); from the handshake on it
// passes everything through.
type handshakeFilter struct {
	r      *bufio.Reader
	closer io.Closer
	noise  io.Writer
	passed bool
	buf    []byte
	lines  int
}

const maxNoiseLines = 1000

func (f *handshakeFilter) Read(p []byte) (int, error) {
	for !f.passed {
		line, err := f.r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// An over-long line cannot be the handshake: drop the rest of it.
			f.note(line)
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = f.r.ReadSlice('\n')
			}
			if err != nil {
				return 0, err
			}
			continue
		}
		if err != nil {
			return 0, err
		}
		trimmed := trimEOL(line)
		if handshakeLine.Match(trimmed) {
			f.passed = true
			f.buf = append([]byte(nil), line...)
			break
		}
		f.lines++
		if f.lines > maxNoiseLines {
			return 0, errors.New("plugin: too much output before the handshake")
		}
		f.note(trimmed)
	}
	if len(f.buf) > 0 {
		n := copy(p, f.buf)
		f.buf = f.buf[n:]
		return n, nil
	}
	return f.r.Read(p)
}

func (f *handshakeFilter) note(line []byte) {
	if len(line) > 4096 {
		line = line[:4096]
	}
	_, _ = f.noise.Write(append(append([]byte(nil), line...), '\n'))
}

func (f *handshakeFilter) Close() error { return f.closer.Close() }

func trimEOL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// runnerFunc adapts newProcRunner to go-plugin's ClientConfig.RunnerFunc:
// go-plugin hands over a blank command carrying the handshake environment,
// which is added to ours.
func runnerFunc(cmd *exec.Cmd, pin string, digests *DigestCache, noise io.Writer, confine *confinement, killed *atomic.Bool) func(hclog.Logger, *exec.Cmd, string) (runner.Runner, error) {
	return func(_ hclog.Logger, gp *exec.Cmd, socketDir string) (runner.Runner, error) {
		cmd.Env = append(cmd.Env, gp.Env...)
		r, err := newProcRunner(cmd, noise)
		if err != nil {
			return nil, err
		}
		r.pin, r.digests, r.confine, r.socketDir, r.killed = pin, digests, confine, socketDir, killed
		return r, nil
	}
}
