package sandbox

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// system lets a confined shell run: its binary and libraries, /dev/null.
func system() Policy {
	p := Policy{Optional: map[string]bool{}}
	for _, d := range []string{"/bin", "/usr", "/lib", "/lib64", "/lib32"} {
		p.Read = append(p.Read, d)
		p.Optional[d] = true
	}
	p.Write = []string{os.DevNull}
	return p
}

// needLandlock returns the kernel's Landlock ABI version when it is at
// least want. Otherwise the test is skipped on a developer's machine, and
// fails under CI (env CI set), where a missing prerequisite must not pass
// as a skip.
func needLandlock(t *testing.T, want int) int {
	t.Helper()
	v, err := ABI()
	switch {
	case err != nil && os.Getenv("CI") != "":
		t.Fatalf("CI: no Landlock on this kernel: %v", err)
	case err != nil:
		t.Skipf("no Landlock on this kernel: %v", err)
	case v < want && os.Getenv("CI") != "":
		t.Fatalf("CI: the kernel's Landlock ABI is %d; this test needs %d", v, want)
	case v < want:
		t.Skipf("the kernel's Landlock ABI is %d; this test needs %d", v, want)
	}
	return v
}

// sh runs a shell command confined by p and returns its output and error.
func sh(t *testing.T, p Policy, script string) (string, error) {
	t.Helper()
	return runConfined(t, exec.Command("/bin/sh", "-c", script), p)
}

func TestConfinesFiles(t *testing.T) {
	needLandlock(t, 1)
	root := t.TempDir()
	ro, rw, other := filepath.Join(root, "ro"), filepath.Join(root, "rw"), filepath.Join(root, "other")
	for _, d := range []string{ro, rw, other} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "f"), []byte("secret-"+filepath.Base(d)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	p := system()
	p.Read = append(p.Read, ro)
	p.Write = append(p.Write, rw)

	if out, err := sh(t, p, "cat "+ro+"/f "+rw+"/f"); err != nil || out != "secret-rosecret-rw" {
		t.Fatalf("allowed reads: %q, %v", out, err)
	}
	if out, err := sh(t, p, "cat "+other+"/f"); err == nil || strings.Contains(out, "secret") {
		t.Fatalf("read outside the policy succeeded: %q", out)
	}
	if out, err := sh(t, p, "ls "+root); err == nil {
		t.Fatalf("listing a parent of the policy succeeded: %q", out)
	}
	if out, err := sh(t, p, "echo new > "+rw+"/g && rm "+rw+"/f && mkdir "+rw+"/d"); err != nil {
		t.Fatalf("writes inside the writable dir: %q, %v", out, err)
	}
	for _, script := range []string{"echo x > " + ro + "/g", "echo x >> " + ro + "/f", "rm " + ro + "/f", "echo x > " + other + "/g"} {
		if out, err := sh(t, p, script); err == nil {
			t.Fatalf("%q succeeded: %q", script, out)
		}
	}
	// This process is not confined by having started them.
	if b, err := os.ReadFile(filepath.Join(other, "f")); err != nil || string(b) != "secret-other" {
		t.Fatalf("the launching process lost access: %q, %v", b, err)
	}
}

func TestLauncherStaysUnconfined(t *testing.T) {
	needLandlock(t, 1)
	dir := t.TempDir()
	p := system()
	for range 20 {
		if out, err := sh(t, p, "true"); err != nil {
			t.Fatalf("confined true: %q, %v", out, err)
		}
	}
	// Work spread over many threads still reaches the whole file system.
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f := filepath.Join(dir, strconv.Itoa(i))
			if err := os.WriteFile(f, []byte("x"), 0o600); err != nil {
				errs <- err
				return
			}
			if _, err := os.ReadDir(dir); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("the launching process was confined: %v", err)
	}
}

func TestSignalsStayInside(t *testing.T) {
	needLandlock(t, 6) // signal scoping
	// kill -0 only checks permission: refused outside the confinement.
	if out, err := sh(t, system(), "kill -0 "+strconv.Itoa(os.Getpid())); err == nil {
		t.Fatalf("a confined process could signal its launcher: %q", out)
	}
	if out, err := sh(t, system(), "kill -0 $$"); err != nil {
		t.Fatalf("a confined process could not signal itself: %q, %v", out, err)
	}
}

func TestMissingPath(t *testing.T) {
	needLandlock(t, 1)
	p := system()
	missing := filepath.Join(t.TempDir(), "nope")
	p.Read = append(p.Read, missing)
	cmd := exec.Command("/bin/true")
	if _, err := Start(cmd, p); err == nil || !strings.Contains(err.Error(), missing) {
		t.Fatalf("a missing path: %v", err)
	}
	if cmd.Process != nil {
		t.Fatal("the command started despite the error")
	}
	p.Optional[missing] = true
	cmd = exec.Command("/bin/true")
	release, err := Start(cmd, p)
	if err != nil {
		t.Fatalf("an optional missing path: %v", err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	release()
}

// The kernel sends a child's parent-death signal when the thread that
// forked it ends, so that thread must outlive the child.
func TestParentDeathSignalWaitsForRelease(t *testing.T) {
	needLandlock(t, 1)
	cmd := exec.Command("/bin/sh", "-c", "sleep 0.3; echo alive")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var out bytes.Buffer
	cmd.Stdout = &out
	release, err := Start(cmd, system())
	if err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	release()
	if err != nil || out.String() != "alive\n" {
		t.Fatalf("the confined child did not live to finish: %q, %v", out.String(), err)
	}
}

// TCP connects are refused but to the listed ports; a TCP listener the
// process inherited keeps accepting.
func TestTCP(t *testing.T) {
	needLandlock(t, 4) // network rules
	open, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer open.Close()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer closed.Close()
	go func() {
		for {
			c, err := open.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	port := func(ln net.Listener) uint16 { return uint16(ln.Addr().(*net.TCPAddr).Port) }
	p := system()
	p.ConnectTCP = []uint16{port(open)}
	// bash's /dev/tcp is not everywhere; a confined Go helper would be,
	// but the test binary itself can dial: run it as the child.
	dial := func(ln net.Listener) error {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperDial$")
		cmd.Env = append(os.Environ(), "SANDBOX_HELPER_DIAL="+ln.Addr().String())
		self, _ := os.Executable()
		pol := p
		pol.Read = append(pol.Read, self)
		out, err := runConfined(t, cmd, pol)
		if err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		return nil
	}
	if err := dial(open); err != nil {
		t.Fatalf("connect to an allowed port: %v", err)
	}
	if err := dial(closed); err == nil {
		t.Fatal("connect to a port not listed succeeded")
	}
}

func runConfined(t *testing.T, cmd *exec.Cmd, p Policy) (string, error) {
	t.Helper()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	release, err := Start(cmd, p)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	err = cmd.Wait()
	release()
	return out.String(), err
}

// TestHelperDial is the child of TestTCP: it dials SANDBOX_HELPER_DIAL.
func TestHelperDial(t *testing.T) {
	addr := os.Getenv("SANDBOX_HELPER_DIAL")
	if addr == "" {
		t.Skip("helper for TestTCP")
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
}
