package pluginrpc

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// The go-plugin services' messages are encoded here by hand rather than
// generated: generated types would register the names plugin.ConnInfo and
// plugin.Empty in the global protobuf registry, where they clash with
// go-plugin's own in any binary that links both (a plugin's tests, which
// run the plugin under sdk/plugintest).

// message is a hand-encoded protobuf message.
type message interface {
	marshal() []byte
	unmarshal([]byte) error
}

// connInfo is go-plugin's plugin.ConnInfo: the host announces, for a broker
// service id, where that service listens. Field numbers: service_id 1,
// network 2, address 3, knock 4 (a nested message, used only with broker
// multiplexing, which is kept but not acted on).
type connInfo struct {
	ServiceID uint32
	Network   string
	Address   string
	Knock     []byte
}

func (c *connInfo) marshal() []byte {
	var b []byte
	if c.ServiceID != 0 {
		b = protowire.AppendTag(b, 1, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(c.ServiceID))
	}
	if c.Network != "" {
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendString(b, c.Network)
	}
	if c.Address != "" {
		b = protowire.AppendTag(b, 3, protowire.BytesType)
		b = protowire.AppendString(b, c.Address)
	}
	if c.Knock != nil {
		b = protowire.AppendTag(b, 4, protowire.BytesType)
		b = protowire.AppendBytes(b, c.Knock)
	}
	return b
}

func (c *connInfo) unmarshal(b []byte) error {
	*c = connInfo{}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("%w: conn info: %v", ErrMessage, protowire.ParseError(n))
		}
		b = b[n:]
		switch {
		case num == 1 && typ == protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return fmt.Errorf("%w: conn info service id: %v", ErrMessage, protowire.ParseError(n))
			}
			c.ServiceID, b = uint32(v), b[n:]
		case (num == 2 || num == 3 || num == 4) && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return fmt.Errorf("%w: conn info field %d: %v", ErrMessage, num, protowire.ParseError(n))
			}
			switch num {
			case 2:
				c.Network = string(v)
			case 3:
				c.Address = string(v)
			default:
				c.Knock = append([]byte{}, v...)
			}
			b = b[n:]
		default:
			n := protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return fmt.Errorf("%w: conn info field %d: %v", ErrMessage, num, protowire.ParseError(n))
			}
			b = b[n:]
		}
	}
	return nil
}

// empty is google.protobuf.Empty and go-plugin's plugin.Empty; unknown
// fields are skipped, as protobuf requires.
type empty struct{}

func (empty) marshal() []byte { return nil }

func (empty) unmarshal(b []byte) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("%w: %v", ErrMessage, protowire.ParseError(n))
		}
		b = b[n:]
		if n = protowire.ConsumeFieldValue(num, typ, b); n < 0 {
			return fmt.Errorf("%w: %v", ErrMessage, protowire.ParseError(n))
		}
		b = b[n:]
	}
	return nil
}

// codec is the server's codec: generated messages (the plugin's own
// service, health) through protobuf, the go-plugin messages by hand.
type codec struct{}

func (codec) Name() string { return "proto" }

func (codec) Marshal(v any) ([]byte, error) {
	switch m := v.(type) {
	case message:
		return m.marshal(), nil
	case proto.Message:
		return proto.Marshal(m)
	}
	return nil, fmt.Errorf("%w: cannot encode %T", ErrMessage, v)
}

func (codec) Unmarshal(data []byte, v any) error {
	switch m := v.(type) {
	case message:
		return m.unmarshal(data)
	case proto.Message:
		return proto.Unmarshal(data, m)
	}
	return fmt.Errorf("%w: cannot decode into %T", ErrMessage, v)
}
