package plugintest_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// echoBinary is the example plugin (sdk/examples/echo), built by TestMain.
var echoBinary string

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "plugintest-bin-*")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	echoBinary = filepath.Join(dir, "aunsorm-plugin-echo")
	cmd := exec.Command("go", "build", "-o", echoBinary, "./examples/echo")
	cmd.Dir = ".." // the sdk module root
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "plugintest: building the echo plugin:", err)
		return 1
	}
	return m.Run()
}
