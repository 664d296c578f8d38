package plugin

import (
	"testing"

	"github.com/hashicorp/hcl/v2"
)

// FuzzConfigDecode: a plugin's config block never panics the decoder; it
// decodes or yields diagnostics.
func FuzzConfigDecode(f *testing.F) {
	f.Add("greeting = \"hi\"\n")
	f.Add("x = {\n")
	f.Add("block {\n a = 1\n}\n")
	f.Fuzz(func(t *testing.T, src string) {
		var v struct {
			Greeting string `hcl:"greeting,optional"`
		}
		err := NewConfig([]byte(src), "f.hcl", hcl.Pos{Line: 3, Column: 3, Byte: 10}).Decode(&v)
		if err != nil && err.Error() == "" {
			t.Fatal("empty error")
		}
	})
}
