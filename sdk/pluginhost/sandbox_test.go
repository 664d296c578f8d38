package pluginhost

import (
	"errors"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/aunsorm/aunsorm/sdk/sandbox"
)

func TestSandboxPolicy(t *testing.T) {
	p := SandboxPolicy("/srv/data/plugins/kms", []string{"/etc/kms.key"}, []string{"/var/lib/hsm"}, []uint16{443})
	for _, w := range []string{"/srv/data/plugins/kms", "/dev/null", "/var/lib/hsm"} {
		if !slices.Contains(p.Write, w) || p.Optional[w] {
			t.Errorf("%s should be writable and required: %+v", w, p)
		}
	}
	for _, r := range []string{"/usr", "/etc/ssl", "/etc/kms.key"} {
		if !slices.Contains(p.Read, r) {
			t.Errorf("%s should be readable: %+v", r, p)
		}
	}
	if len(p.ConnectTCP) != 1 || p.ConnectTCP[0] != 443 {
		t.Errorf("connect ports: %v", p.ConnectTCP)
	}
	if !p.Optional["/usr"] || p.Optional["/etc/kms.key"] {
		t.Errorf("system paths are optional, the operator's are not: %v", p.Optional)
	}
	for _, l := range [][]string{p.Read, p.Write} {
		for _, s := range l {
			if s == "/" || s == "/proc" || s == "/srv/data" || strings.HasPrefix("/etc/passwd", s+"/") {
				t.Errorf("policy grants %s", s)
			}
		}
	}
	if p := SandboxPolicy("", nil, nil, nil); len(p.Write) != 1 || p.Write[0] != "/dev/null" {
		t.Errorf("without a data dir: %v", p.Write)
	}
}

// On a kernel without Landlock, auto starts the plugin unconfined and
// says so; required refuses to start it.
func TestConfinementWithoutLandlock(t *testing.T) {
	orig := sandboxStart
	t.Cleanup(func() { sandboxStart = orig })
	sandboxStart = func(*exec.Cmd, sandbox.Policy) (func(), error) { return nil, sandbox.ErrUnsupported }
	pol := SandboxPolicy("", nil, nil, nil)

	c := &confinement{policy: &pol, log: zerolog.Nop()}
	cmd := exec.Command("/bin/true")
	if err := c.start(cmd, ""); err != nil {
		t.Fatalf("auto: %v", err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if c.state != "unavailable" {
		t.Fatalf("auto: state %q", c.state)
	}

	c = &confinement{policy: &pol, required: true, log: zerolog.Nop()}
	cmd = exec.Command("/bin/true")
	if err := c.start(cmd, ""); !errors.Is(err, sandbox.ErrUnsupported) || cmd.Process != nil {
		t.Fatalf("required: err %v, started %v", err, cmd.Process != nil)
	}

	c = &confinement{log: zerolog.Nop()}
	cmd = exec.Command("/bin/true")
	if err := c.start(cmd, ""); err != nil || c.state != "off" {
		t.Fatalf("off: %v %q", err, c.state)
	}
	_ = cmd.Wait()
}

func TestConfinementAddsSocketDir(t *testing.T) {
	orig := sandboxStart
	t.Cleanup(func() { sandboxStart = orig })
	var got sandbox.Policy
	sandboxStart = func(cmd *exec.Cmd, p sandbox.Policy) (func(), error) {
		got = p
		return func() {}, cmd.Start()
	}
	pol := SandboxPolicy("/d", nil, nil, nil)
	c := &confinement{policy: &pol, log: zerolog.Nop()}
	cmd := exec.Command("/bin/true")
	if err := c.start(cmd, "/tmp/plugin-dir123"); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if got.Write[len(got.Write)-1] != "/tmp/plugin-dir123" || len(pol.Write) != 2 {
		t.Fatalf("socket dir: policy %v (original %v)", got.Write, pol.Write)
	}
	if !strings.HasPrefix(c.state, "landlock ABI") {
		t.Fatalf("state %q", c.state)
	}
}
