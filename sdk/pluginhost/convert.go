package pluginhost

import (
	"github.com/hashicorp/hcl/v2"

	"github.com/aunsorm/aunsorm/sdk/clock"
	"github.com/aunsorm/aunsorm/sdk/proto/pluginv1"
)

// fromProtoDiagnostics converts wire diagnostics back to HCL diagnostics.
func fromProtoDiagnostics(in []*pluginv1.Diagnostic) hcl.Diagnostics {
	out := make(hcl.Diagnostics, 0, len(in))
	for _, d := range in {
		hd := &hcl.Diagnostic{Severity: hcl.DiagError, Summary: d.Summary, Detail: d.Detail}
		if d.Severity == "warning" {
			hd.Severity = hcl.DiagWarning
		}
		if d.Filename != "" || d.Line > 0 {
			p := hcl.Pos{Line: int(d.Line), Column: int(d.Column)}
			hd.Subject = &hcl.Range{Filename: d.Filename, Start: p, End: p}
		}
		out = append(out, hd)
	}
	return out
}

// SnapshotToProto converts a snapshot to its wire form.
func SnapshotToProto(s clock.Snapshot) *pluginv1.ClockSnapshot {
	return &pluginv1.ClockSnapshot{AuthorityId: s.AuthorityID, AuthorityFingerprintHex: s.AuthorityFingerprintHex,
		UnixTimeMs: s.UnixTimeMs, Stratum: s.Stratum, RoundTripMs: s.RoundTripMs, DispersionMs: s.DispersionMs,
		EstimatedOffsetMs: s.EstimatedOffsetMs, SignatureB64: s.SignatureB64}
}
