package attest

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"net"
	"testing"
	"time"
)

// fakeNTP answers client requests as a server whose clock is skew ahead.
func fakeNTP(t *testing.T, skew time.Duration, mutate func(resp []byte)) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 512)
		for {
			n, addr, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if n < ntpPacketLen {
				continue
			}
			recv := time.Now().Add(skew)
			resp := make([]byte, ntpPacketLen)
			resp[0] = 0<<6 | 4<<3 | 4
			resp[1] = 2
			binary.BigEndian.PutUint32(resp[8:12], 1<<16/100) // 10 ms root dispersion
			copy(resp[24:32], buf[40:48])
			binary.BigEndian.PutUint64(resp[32:40], ntpTime(recv))
			binary.BigEndian.PutUint64(resp[40:48], ntpTime(time.Now().Add(skew)))
			if mutate != nil {
				mutate(resp)
			}
			_, _ = pc.WriteTo(resp, addr)
		}
	}()
	return pc.LocalAddr().String()
}

func TestNTPOffset(t *testing.T) {
	tests := []struct {
		name    string
		skew    time.Duration
		mutate  func([]byte)
		wantErr bool
	}{
		{"ok/server-ahead", 1500 * time.Millisecond, nil, false},
		{"ok/server-behind", -800 * time.Millisecond, nil, false},
		{"fail/wrong-origin", 0, func(r []byte) { r[24] ^= 0xff }, true},
		{"fail/unsynchronised", 0, func(r []byte) { r[1] = 0 }, true},
		{"fail/client-mode", 0, func(r []byte) { r[0] = 4<<3 | 3 }, true},
		{"fail/alarm-leap", 0, func(r []byte) { r[0] |= 3 << 6 }, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			addr := fakeNTP(t, tc.skew, tc.mutate)
			s, err := NTPOffset([]string{addr}, rand.Reader)(context.Background())
			if tc.wantErr {
				if !errors.Is(err, ErrNTP) {
					t.Fatalf("err = %v, want ErrNTP", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			// The server stamps both its times between our send and our
			// receive, so the offset is off by at most half the round
			// trip (and the 2^-32 s resolution of NTP timestamps),
			// however long the round trip took.
			if d, limit := (s.Offset - tc.skew).Abs(), s.RoundTrip/2+time.Microsecond; d > limit {
				t.Fatalf("offset %v, want %v within half the round trip %v", s.Offset, tc.skew, s.RoundTrip)
			}
			if s.Stratum != 2 || s.Dispersion < 10*time.Millisecond {
				t.Fatalf("sample %+v", s)
			}
		})
	}
}

func TestNTPPicksLowestRoundTrip(t *testing.T) {
	good := fakeNTP(t, time.Second, nil)
	dead := "127.0.0.1:1" // nothing answers
	s, err := NTPOffset([]string{dead, good}, rand.Reader)(context.Background())
	if err != nil || s.Offset < 900*time.Millisecond {
		t.Fatalf("sample %+v err %v", s, err)
	}
}

func FuzzNTPReply(f *testing.F) {
	f.Add(make([]byte, ntpPacketLen))
	f.Fuzz(func(t *testing.T, reply []byte) {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		go func() {
			buf := make([]byte, 512)
			_, addr, err := pc.ReadFrom(buf)
			if err == nil {
				_, _ = pc.WriteTo(reply, addr)
			}
		}()
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		// Any reply must give a sample or an error, never a panic; a reply
		// that does not echo our random origin is always refused.
		if _, err := queryNTP(ctx, pc.LocalAddr().String(), rand.Reader); err == nil && len(reply) >= 32 {
			t.Fatalf("accepted a reply that cannot echo our random origin: %x", reply)
		}
	})
}
