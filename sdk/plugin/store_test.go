package plugin

import (
	"testing"

	"github.com/aunsorm/aunsorm/sdk/proto/pluginv1"
)

func TestStorageProtoRoundTrip(t *testing.T) {
	in := Storage{Driver: "postgres", DSN: "postgres://db/x", Schema: "plugin_a", MaxConns: 7}
	req := &pluginv1.ConfigureRequest{}
	in.ToProto(req)
	if got := storageFromProto(req); got != in {
		t.Errorf("round trip = %+v, want %+v", got, in)
	}
}
