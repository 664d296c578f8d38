package attest

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// SNTP (RFC 4330) client measuring the local clock's offset for the local
// authority's snapshots (stratum, round trip, dispersion, estimated offset).
// The measurement only describes the local clock; the daemon never sets it.

const (
	ntpPacketLen = 48
	ntpEpochDiff = 2208988800 // seconds from 1900 to 1970
	ntpTimeout   = 2 * time.Second
)

// NTPOffset returns an offset function querying servers ("host" or
// "host:port", default port 123) and keeping the sample with the smallest
// round trip. It fails only when no server gives a valid answer. Request
// nonces are drawn from rand (the daemon's DRBG).
func NTPOffset(servers []string, rand io.Reader) func(ctx context.Context) (OffsetSample, error) {
	return func(ctx context.Context) (OffsetSample, error) {
		var best OffsetSample
		var errs []error
		found := false
		for _, s := range servers {
			sample, err := queryNTP(ctx, s, rand)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", s, err))
				continue
			}
			if !found || sample.RoundTrip < best.RoundTrip {
				best, found = sample, true
			}
		}
		if !found {
			return OffsetSample{}, fmt.Errorf("%w: %w", ErrNTP, errors.Join(errs...))
		}
		return best, nil
	}
}

func ntpTime(t time.Time) uint64 {
	secs := uint64(t.Unix() + ntpEpochDiff)
	frac := uint64(t.Nanosecond()) << 32 / 1e9
	return secs<<32 | frac
}

func fromNTP(v uint64) time.Time {
	secs := int64(v>>32) - ntpEpochDiff
	nanos := (int64(v&0xffffffff) * 1e9) >> 32
	return time.Unix(secs, nanos)
}

// queryNTP sends one client request and validates the reply: server mode,
// a synchronised stratum, and our transmit timestamp echoed as origin (a
// random value, so an off-path spoofer cannot guess it).
func queryNTP(ctx context.Context, server string, rand io.Reader) (OffsetSample, error) {
	if _, _, err := net.SplitHostPort(server); err != nil {
		server = net.JoinHostPort(server, "123")
	}
	d := net.Dialer{Timeout: ntpTimeout}
	conn, err := d.DialContext(ctx, "udp", server)
	if err != nil {
		return OffsetSample{}, err
	}
	defer conn.Close()
	deadline := time.Now().Add(ntpTimeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	_ = conn.SetDeadline(deadline)

	req := make([]byte, ntpPacketLen)
	req[0] = 0<<6 | 4<<3 | 3 // LI 0, version 4, mode 3 (client)
	// Transmit timestamp: random, remembered as the expected origin.
	if _, err := io.ReadFull(rand, req[40:48]); err != nil {
		return OffsetSample{}, err
	}
	origin := binary.BigEndian.Uint64(req[40:48])
	t1 := time.Now()
	if _, err := conn.Write(req); err != nil {
		return OffsetSample{}, err
	}
	resp := make([]byte, 512)
	n, err := conn.Read(resp)
	t4 := time.Now()
	if err != nil {
		return OffsetSample{}, err
	}
	if n < ntpPacketLen {
		return OffsetSample{}, errors.New("short NTP reply")
	}
	li, mode, stratum := resp[0]>>6, resp[0]&7, resp[1]
	switch {
	case mode != 4:
		return OffsetSample{}, fmt.Errorf("NTP reply mode %d, want 4", mode)
	case li == 3 || stratum == 0 || stratum > 15:
		return OffsetSample{}, fmt.Errorf("NTP server unsynchronised (leap %d, stratum %d)", li, stratum)
	case binary.BigEndian.Uint64(resp[24:32]) != origin:
		return OffsetSample{}, errors.New("NTP reply does not answer our request")
	}
	t2 := fromNTP(binary.BigEndian.Uint64(resp[32:40]))
	t3 := fromNTP(binary.BigEndian.Uint64(resp[40:48]))
	rootDisp := time.Duration(binary.BigEndian.Uint32(resp[8:12])) * time.Second >> 16
	// RFC 4330 §5: offset ((T2-T1)+(T3-T4))/2, round trip (T4-T1)-(T3-T2).
	offset := (t2.Sub(t1) + t3.Sub(t4)) / 2
	rtt := t4.Sub(t1) - t3.Sub(t2)
	if rtt < 0 {
		rtt = 0
	}
	return OffsetSample{Offset: offset, RoundTrip: rtt, Dispersion: rootDisp + rtt/2, Stratum: uint32(stratum)}, nil
}
