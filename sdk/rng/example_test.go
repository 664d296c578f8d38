package rng_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"log"
	"time"

	"github.com/aunsorm/aunsorm/sdk/rng"
)

// A plugin runs its own DRBG, seeded and reseeded from the daemon. Here the
// daemon side is played by a native Reader; in a real plugin Seed calls the
// Entropy host service the daemon passes in Configure.
func ExampleNewReader() {
	ctx := context.Background()
	daemon, err := rng.NewNative(ctx, rng.NativeConfig{})
	if err != nil {
		log.Fatal(err)
	}
	defer daemon.Close()

	r, err := rng.NewReader(ctx, rng.Config{
		Seed:            daemon.SeedFunc(), // plugin: the broker's Entropy call
		ReseedInterval:  5 * time.Minute,
		Personalization: []byte("aunsorm-plugin-kms"),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()

	// Every key, nonce, id and serial comes from r. Keys are built from
	// seeds read from r (Go 1.26 key generators ignore a custom reader).
	seed := make([]byte, ed25519.SeedSize)
	if _, err := r.Read(seed); err != nil {
		log.Fatal(err)
	}
	priv := ed25519.NewKeyFromSeed(seed)
	clear(seed)
	id := make([]byte, 16)
	if _, err := r.Read(id); err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(priv.Public().(ed25519.PublicKey)), len(id), r.Stats().Healthy)
	// Output: 32 16 true
}

// The daemon's root source: getrandom(2) through the SP 800-90B health
// tests into HMAC_DRBG-SHA-512, reseeded every five minutes.
func ExampleNewNative() {
	r, err := rng.NewNative(context.Background(), rng.NativeConfig{ReseedInterval: 5 * time.Minute})
	if err != nil {
		log.Fatal(err) // self-test, start-up health test or getrandom failed
	}
	defer r.Close()

	serial := make([]byte, 20)
	if _, err := r.Read(serial); err != nil {
		log.Fatal(err)
	}
	s := r.Stats()
	fmt.Println(len(serial), s.Healthy)
	// Output: 20 true
}
