package supervisor

import (
	"slices"
	"testing"
	"time"

	"github.com/aunsorm/aunsorm/daemon/internal/config"
)

// TestCrashLoopBackoff: a crash-looping plugin's delays start at
// backoff_max and double up to CrashLoopBackoffMax (never below
// backoff_max); leaving the loop starts over.
func TestCrashLoopBackoff(t *testing.T) {
	tests := []struct {
		name       string
		backoffMax time.Duration
		ceiling    time.Duration
		want       []time.Duration
	}{
		{"ok/doubles-to-ceiling", time.Second, 5 * time.Second, []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second}},
		{"ok/ceiling-below-backoff-max", 10 * time.Second, time.Second, []time.Duration{10 * time.Second, 10 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := testSupervisor(t, Options{CrashLoopBackoffMax: tt.ceiling})
			m := addManaged(s, "crypto")
			k := config.Supervision{BackoffMax: tt.backoffMax}
			var got []time.Duration
			for range tt.want {
				got = append(got, m.nextLoopDelay(k))
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("delays %v, want %v", got, tt.want)
			}
			m.resetLoopDelay()
			if d := m.nextLoopDelay(k); d != tt.backoffMax {
				t.Fatalf("after reset %v, want %v", d, tt.backoffMax)
			}
		})
	}
}

// TestInfoNextAttempt: while the supervisor waits, Info reports the next
// attempt in attested time (Options.Now), and nothing once running.
func TestInfoNextAttempt(t *testing.T) {
	attested := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
	s := testSupervisor(t, Options{Now: func() time.Time { return attested }})
	m := addManaged(s, "crypto")
	m.setStatus(StatusFailed, "crashed more than 5 times within 1m0s")
	m.stMu.Lock()
	m.nextAttempt = time.Now().Add(time.Hour)
	m.stMu.Unlock()
	info := m.Info()
	if info.NextAttempt.Before(attested.Add(59*time.Minute)) || info.NextAttempt.After(attested.Add(time.Hour)) || info.NextAttemptSec <= 0 || info.PID != 0 {
		t.Fatalf("info %+v", info)
	}
	m.setStatus(StatusRunning, "")
	if info := m.Info(); !info.NextAttempt.IsZero() || info.NextAttemptSec != 0 {
		t.Fatalf("running plugin shows a next attempt: %+v", info)
	}
}

// TestAuditEventUnstamped: the supervisor leaves the time to the audit
// log, which stamps it with attested time.
func TestAuditEventUnstamped(t *testing.T) {
	if e := auditEvent("plugin.start", "crypto", "ok", nil); !e.Time.IsZero() || e.Source != "daemon" {
		t.Fatalf("event %+v", e)
	}
}
