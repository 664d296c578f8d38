package pluginrpc

import (
	"errors"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

func TestConnInfoWire(t *testing.T) {
	for _, c := range []struct {
		name string
		in   connInfo
	}{
		{"ok/unix", connInfo{ServiceID: 1, Network: "unix", Address: "/tmp/plugin123"}},
		{"ok/tcp-large-id", connInfo{ServiceID: 1<<32 - 1, Network: "tcp", Address: "127.0.0.1:4242"}},
		{"ok/knock", connInfo{ServiceID: 7, Knock: []byte{8, 1}}},
		{"ok/zero", connInfo{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var got connInfo
			if err := got.unmarshal(c.in.marshal()); err != nil {
				t.Fatal(err)
			}
			if got.ServiceID != c.in.ServiceID || got.Network != c.in.Network || got.Address != c.in.Address || string(got.Knock) != string(c.in.Knock) {
				t.Fatalf("round trip: %+v, want %+v", got, c.in)
			}
		})
	}
	// A field this side does not know is skipped, as protobuf requires.
	b := protowire.AppendTag(nil, 9, protowire.BytesType)
	b = protowire.AppendString(b, "future")
	b = append(b, (&connInfo{ServiceID: 3, Network: "unix", Address: "/s"}).marshal()...)
	var got connInfo
	if err := got.unmarshal(b); err != nil || got.ServiceID != 3 || got.Address != "/s" {
		t.Fatalf("unknown field: %+v, %v", got, err)
	}
	for name, bad := range map[string][]byte{
		"fail/truncated-tag":    {0x80},
		"fail/truncated-string": {0x12, 0x05, 'u'},
		"fail/truncated-varint": {0x08, 0xff},
		"fail/group-end":        {0x0c},
	} {
		t.Run(name, func(t *testing.T) {
			if err := new(connInfo).unmarshal(bad); !errors.Is(err, ErrMessage) {
				t.Fatalf("unmarshal %x: %v, want ErrMessage", bad, err)
			}
			if err := (empty{}).unmarshal(bad); name != "fail/truncated-varint" && !errors.Is(err, ErrMessage) {
				t.Fatalf("empty unmarshal %x: %v, want ErrMessage", bad, err)
			}
		})
	}
}

// FuzzConnInfo: whatever the host sends on the broker stream decodes or
// is refused with ErrMessage, never panics, and what decodes re-encodes to
// a message that decodes to the same value.
func FuzzConnInfo(f *testing.F) {
	f.Add((&connInfo{ServiceID: 1, Network: "unix", Address: "/tmp/plugin1"}).marshal())
	f.Add([]byte{0x22, 0x02, 0x08, 0x01})
	f.Add([]byte{0x80})
	f.Fuzz(func(t *testing.T, b []byte) {
		var c connInfo
		if err := c.unmarshal(b); err != nil {
			if !errors.Is(err, ErrMessage) {
				t.Fatalf("error not ErrMessage: %v", err)
			}
			return
		}
		var d connInfo
		if err := d.unmarshal(c.marshal()); err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if d.ServiceID != c.ServiceID || d.Network != c.Network || d.Address != c.Address || string(d.Knock) != string(c.Knock) {
			t.Fatalf("re-decode: %+v, want %+v", d, c)
		}
		_ = (empty{}).unmarshal(b)
	})
}
