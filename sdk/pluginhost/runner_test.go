package pluginhost

import (
	"context"
	"io"
	"os/exec"
	"sync/atomic"
	"testing"

	"github.com/rs/zerolog"
)

// An exit the host caused is not an error; any other death is.
func TestRunnerWaitReportsOnlyUnexpectedExits(t *testing.T) {
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Fatalf("sleep: %v", err)
	}
	tests := []struct {
		name    string
		byHost  bool
		wantErr bool
	}{
		{"ok/killed-by-host", true, false},
		{"fail/killed-by-someone-else", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := newProcRunner(exec.Command(sleep, "30"), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			r.killed = new(atomic.Bool)
			r.confine = &confinement{log: zerolog.Nop()}
			if err := r.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			if tt.byHost {
				err = r.Kill(context.Background())
			} else {
				err = r.cmd.Process.Kill() // as the OOM killer would
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := r.Wait(context.Background()); (err != nil) != tt.wantErr {
				t.Fatalf("Wait: %v, want error: %v", err, tt.wantErr)
			}
		})
	}
}
