package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// Wycheproof vectors come from the Go module cache, fetched through the
// module proxy: they are loaded, never copied into this repository.
const wycheproofModule = "github.com/C2SP/wycheproof@v0.0.0-20250901140545-b51abcfb8daf"

// errNoGo marks a machine without the go command.
var errNoGo = errors.New("go command not found")

// wycheproofDir runs `go mod download -json` once per test binary and
// returns the module's directory.
var wycheproofDir = sync.OnceValues(func() (string, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", errNoGo
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBin, "mod", "download", "-json", wycheproofModule)
	// Outside any module, so the download cannot touch go.mod or go.sum.
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "GOFLAGS=", "GOWORK=off")
	out, err := cmd.Output()
	var info struct {
		Dir   string
		Error string
	}
	if jerr := json.Unmarshal(out, &info); jerr != nil {
		return "", errors.Join(err, jerr)
	}
	if info.Error != "" || info.Dir == "" {
		return "", errors.Join(err, errors.New("go mod download: "+info.Error))
	}
	return info.Dir, nil
})

// loadWycheproof decodes testvectors_v1/name into v.
func loadWycheproof(t testing.TB, name string, v any) {
	t.Helper()
	dir, err := wycheproofDir()
	if errors.Is(err, errNoGo) {
		if os.Getenv("CI") != "" {
			t.Fatal("CI: the go command is not available to fetch the Wycheproof vectors")
		}
		t.Skip("the go command is not available to fetch the Wycheproof vectors")
	}
	if err != nil {
		t.Fatalf("fetching %s: %v", wycheproofModule, err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "testvectors_v1", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// hexBytes is a hex string in a vector file.
type hexBytes []byte

// UnmarshalJSON implements json.Unmarshaler.
func (h *hexBytes) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	out, err := hex.DecodeString(s)
	if err != nil {
		return err
	}
	*h = out
	return nil
}

// wycheproofTest holds what every Wycheproof test case has.
type wycheproofTest struct {
	TcID    int      `json:"tcId"`
	Comment string   `json:"comment"`
	Flags   []string `json:"flags"`
	Result  string   `json:"result"`
}

// wycheproofFile holds what every Wycheproof file has.
type wycheproofFile struct {
	Algorithm     string `json:"algorithm"`
	NumberOfTests int    `json:"numberOfTests"`
}

// vectorCounter tallies the outcome of a file's tests and checks the total
// against numberOfTests, so no group can go silently missing.
type vectorCounter struct {
	valid, invalid, acceptable, skipped int
}

// add counts one test by its result.
func (c *vectorCounter) add(t testing.TB, result string) {
	t.Helper()
	switch result {
	case "valid":
		c.valid++
	case "invalid":
		c.invalid++
	case "acceptable":
		c.acceptable++
	default:
		t.Fatalf("unknown Wycheproof result %q", result)
	}
}

// check reports the tally and fails when tests are missing.
func (c *vectorCounter) check(t testing.TB, name string, want int) {
	t.Helper()
	got := c.valid + c.invalid + c.acceptable + c.skipped
	t.Logf("%s: %d valid, %d invalid, %d acceptable, %d skipped", name, c.valid, c.invalid, c.acceptable, c.skipped)
	if got != want || got == 0 {
		t.Fatalf("%s: ran %d tests, the file declares %d", name, got, want)
	}
}
