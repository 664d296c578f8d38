package seal_test

import (
	"crypto/rand"
	"fmt"

	"github.com/aunsorm/aunsorm/sdk/seal"
)

// A plugin gets its Sealer from plugin.Env.Sealer; the keys here stand in
// for the ones the daemon derives for the plugin instance.
func Example() {
	sealer, err := seal.New(rand.Reader, seal.Key{Version: 1, Secret: make([]byte, seal.KeySize)})
	if err != nil {
		panic(err)
	}
	// Bind the value to its row: the same bytes stored under another id
	// (or by another plugin) do not open.
	aad := []byte("clients/c-42/secret")
	sealed, err := sealer.Seal(aad, []byte("s3cr3t"))
	if err != nil {
		panic(err)
	}
	plaintext, stale, err := sealer.Open(aad, sealed)
	fmt.Println(string(plaintext), stale, err)

	_, _, err = sealer.Open([]byte("clients/c-43/secret"), sealed)
	fmt.Println(err)
	// Output:
	// s3cr3t false <nil>
	// seal: sealed value refused
}

// After a root key rotation the plugin's next Configure brings version 2:
// values under version 1 still open, reported stale so the caller re-seals
// them on its next write.
func ExampleSealer_Open_stale() {
	v1, _ := seal.New(rand.Reader, seal.Key{Version: 1, Secret: make([]byte, seal.KeySize)})
	old, _ := v1.Seal([]byte("row-1"), []byte("value"))

	k2 := make([]byte, seal.KeySize)
	k2[0] = 2
	v2, _ := seal.New(rand.Reader, seal.Key{Version: 1, Secret: make([]byte, seal.KeySize)}, seal.Key{Version: 2, Secret: k2})
	plaintext, stale, _ := v2.Open([]byte("row-1"), old)
	fmt.Println(string(plaintext), stale)
	resealed, changed, _ := v2.Reseal([]byte("row-1"), old)
	version, _ := seal.Version(resealed)
	fmt.Println(changed, version)
	// Output:
	// value true
	// true 2
}
