package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	tests := []struct {
		name string
		lat  []time.Duration
		p    float64
		want time.Duration
	}{
		{"ok/empty", nil, 50, 0},
		{"ok/single", []time.Duration{7}, 99, 7},
		{"ok/p50-of-100", hundred, 50, 50 * time.Millisecond},
		{"ok/p90-of-100", hundred, 90, 90 * time.Millisecond},
		{"ok/p99-of-100", hundred, 99, 99 * time.Millisecond},
		{"ok/max", hundred, 100, 100 * time.Millisecond},
		{"ok/tiny-p", hundred, 0.0001, time.Millisecond},
		{"ok/p50-of-3", []time.Duration{1, 2, 3}, 50, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Result{Latencies: tt.lat}
			if got := r.Percentile(tt.p); got != tt.want {
				t.Fatalf("Percentile(%g) = %s, want %s", tt.p, got, tt.want)
			}
		})
	}
}

func sampleResult() *Result {
	return &Result{
		Requests: 4, Responses: 3, OK: 2, Failed: 1,
		Elapsed:      2 * time.Second,
		Latencies:    []time.Duration{time.Millisecond, 2 * time.Millisecond, 4 * time.Millisecond},
		Status:       map[int]int{200: 2, 503: 1},
		Errors:       map[string]int{"conn_reset": 1},
		ErrorSamples: map[string]string{"conn_reset": "read: connection reset by peer"},
		BytesIn:      10,
	}
}

func TestResultJSON(t *testing.T) {
	var buf bytes.Buffer
	cfg := Config{URL: "http://h/x", Method: "POST", Concurrency: 3}
	if err := sampleResult().WriteJSON(&buf, cfg); err != nil {
		t.Fatal(err)
	}
	var s Summary
	if err := json.Unmarshal(buf.Bytes(), &s); err != nil {
		t.Fatal(err)
	}
	if s.Requests != 4 || s.OK != 2 || s.Failed != 1 || s.RPS != 2 || s.OKRPS != 1 ||
		s.LatencyMs.P50 != 2 || s.LatencyMs.Max != 4 || s.Status["503"] != 1 || s.Errors["conn_reset"] != 1 {
		t.Fatalf("summary %+v", s)
	}
}

func TestResultText(t *testing.T) {
	var buf bytes.Buffer
	if err := sampleResult().WriteText(&buf, Config{URL: "http://h/x", Method: "GET", Concurrency: 1}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"requests     4", "2.0 req/s", "p50 2ms", "200:2 503:1", "conn_reset:1"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("text output lacks %q:\n%s", want, buf.String())
		}
	}
}
