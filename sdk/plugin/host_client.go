package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/aunsorm/aunsorm/sdk/internal/protocol"
	"github.com/aunsorm/aunsorm/sdk/proto/pluginv1"
)

// Host is a plugin's handle on the daemon's host services. The daemon knows
// which plugin is calling: the caller's identity is never taken from the
// request.
type Host struct {
	rpc pluginv1.HostClient
}

// AuditEvent is one event for the daemon's hash-chained audit log. Details
// must never contain key material or secrets.
type AuditEvent struct {
	Action  string
	Subject string
	Outcome string
	Details map[string]any
}

// AuditReceipt identifies the stored record.
type AuditReceipt struct {
	Sequence uint64
	HashHex  string
}

// Audit appends an event; it returns once the daemon stored it durably.
func (h *Host) Audit(ctx context.Context, ev AuditEvent) (AuditReceipt, error) {
	var details []byte
	if len(ev.Details) > 0 {
		var err error
		if details, err = json.Marshal(ev.Details); err != nil {
			return AuditReceipt{}, fmt.Errorf("plugin: audit details: %w", err)
		}
	}
	resp, err := h.rpc.Audit(ctx, &pluginv1.AuditRequest{Action: ev.Action, Subject: ev.Subject, Outcome: ev.Outcome, DetailsJson: details})
	if err != nil {
		return AuditReceipt{}, protocol.FromStatus(err)
	}
	return AuditReceipt{Sequence: resp.Sequence, HashHex: resp.HashHex}, nil
}

// PeerResponse is another plugin's HTTP answer.
type PeerResponse struct {
	Status int
	Header http.Header
	Body   []byte
}

// Peer sends an HTTP request to another plugin's API through the daemon,
// which tells the callee who is calling (header CallerHeader).
func (h *Host) Peer(ctx context.Context, plugin, method, path string, header http.Header, body []byte) (*PeerResponse, error) {
	hdr := map[string]string{}
	for k, v := range header {
		if len(v) > 0 {
			hdr[k] = v[0]
		}
	}
	resp, err := h.rpc.Peer(ctx, &pluginv1.PeerRequest{Plugin: plugin, Method: method, Path: path, Headers: hdr, Body: body})
	if err != nil {
		return nil, protocol.FromStatus(err)
	}
	out := &PeerResponse{Status: int(resp.Status), Header: http.Header{}, Body: resp.Body}
	for k, v := range resp.Headers {
		out.Header.Set(k, v)
	}
	return out, nil
}

// PluginInfo describes one plugin the daemon runs.
type PluginInfo struct {
	Name, Kind, Version, Listen, Status, SHA256 string
	Routes                                      []string
	PID                                         int64
	Restarts                                    uint32
}

// Topology lists the daemon's plugins.
func (h *Host) Topology(ctx context.Context) ([]PluginInfo, error) {
	resp, err := h.rpc.Topology(ctx, &pluginv1.TopologyRequest{})
	if err != nil {
		return nil, protocol.FromStatus(err)
	}
	out := make([]PluginInfo, 0, len(resp.Plugins))
	for _, p := range resp.Plugins {
		out = append(out, PluginInfo{Name: p.Name, Kind: p.Kind, Version: p.Version, Listen: p.Listen, Status: p.Status,
			SHA256: p.Sha256, Routes: p.Routes, PID: p.Pid, Restarts: p.Restarts})
	}
	return out, nil
}
