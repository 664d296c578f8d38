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

// On a kernel without Landlock, auto starts the plugin without it and
// says so; required refuses to start it; off does not ask for it. The
// privileges are dropped in every case.
func TestConfinementWithoutLandlock(t *testing.T) {
	orig := sandboxStart
	t.Cleanup(func() { sandboxStart = orig })
	var modes []sandbox.LandlockMode
	sandboxStart = func(cmd *exec.Cmd, p sandbox.Policy) (*sandbox.Confinement, error) {
		modes = append(modes, p.Landlock)
		if p.Landlock == sandbox.LandlockRequired {
			return nil, sandbox.ErrUnsupported
		}
		return &sandbox.Confinement{Seccomp: true, NoNewPrivs: true, Capabilities: "none"}, cmd.Start()
	}
	pol := SandboxPolicy("", nil, nil, nil)

	c := &confinement{policy: &pol, log: zerolog.Nop()}
	cmd := exec.Command("/bin/true")
	if err := c.start(cmd, ""); err != nil {
		t.Fatalf("auto: %v", err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if c.state != "unavailable" || !c.applied.Seccomp {
		t.Fatalf("auto: state %q, %+v", c.state, c.applied)
	}

	c = &confinement{policy: &pol, required: true, log: zerolog.Nop()}
	cmd = exec.Command("/bin/true")
	if err := c.start(cmd, ""); !errors.Is(err, sandbox.ErrUnsupported) || cmd.Process != nil {
		t.Fatalf("required: err %v, started %v", err, cmd.Process != nil)
	}

	c = &confinement{log: zerolog.Nop()}
	cmd = exec.Command("/bin/true")
	if err := c.start(cmd, ""); err != nil || c.state != "off" || !c.applied.Seccomp {
		t.Fatalf("off: %v %q %+v", err, c.state, c.applied)
	}
	_ = cmd.Wait()
	want := []sandbox.LandlockMode{sandbox.LandlockAuto, sandbox.LandlockRequired, sandbox.LandlockOff}
	if !slices.Equal(modes, want) {
		t.Fatalf("Landlock modes asked for: %v, want %v", modes, want)
	}
}

func TestConfinementAddsSocketDir(t *testing.T) {
	orig := sandboxStart
	t.Cleanup(func() { sandboxStart = orig })
	var got sandbox.Policy
	sandboxStart = func(cmd *exec.Cmd, p sandbox.Policy) (*sandbox.Confinement, error) {
		got = p
		return &sandbox.Confinement{Landlock: 7}, cmd.Start()
	}
	pol := SandboxPolicy("/d", nil, nil, nil)
	cred := &sandbox.Credential{UID: 1000, GID: 1000}
	c := &confinement{policy: &pol, credential: cred, log: zerolog.Nop()}
	cmd := exec.Command("/bin/true")
	if err := c.start(cmd, "/tmp/plugin-dir123"); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if got.Write[len(got.Write)-1] != "/tmp/plugin-dir123" || len(pol.Write) != 2 {
		t.Fatalf("socket dir: policy %v (original %v)", got.Write, pol.Write)
	}
	if got.Credential != cred {
		t.Fatalf("credential %v", got.Credential)
	}
	if c.state != "landlock ABI 7" {
		t.Fatalf("state %q", c.state)
	}
}
