package plugin

import (
	"bytes"
	"crypto/rand"
	"testing"

	"github.com/aunsorm/aunsorm/sdk/proto/pluginv1"
)

func TestNewSealer(t *testing.T) {
	t.Run("ok/none", func(t *testing.T) {
		s, err := newSealer(rand.Reader, nil)
		if s != nil || err != nil {
			t.Fatalf("newSealer(nil) = %v, %v", s, err)
		}
	})
	t.Run("ok/versions-and-keys-cleared", func(t *testing.T) {
		keys := []*pluginv1.SealKey{{Version: 1, Key: bytes.Repeat([]byte{1}, 32)}, {Version: 2, Key: bytes.Repeat([]byte{2}, 32)}}
		s, err := newSealer(rand.Reader, keys)
		if err != nil || s.Current() != 2 {
			t.Fatalf("newSealer = %v, %v", s, err)
		}
		for _, k := range keys {
			if !bytes.Equal(k.Key, make([]byte, 32)) {
				t.Fatalf("key version %d left in the request", k.Version)
			}
		}
		sealed, err := s.Seal([]byte("a"), []byte("b"))
		if err != nil {
			t.Fatal(err)
		}
		if pt, _, err := s.Open([]byte("a"), sealed); err != nil || string(pt) != "b" {
			t.Fatalf("Open = %q, %v", pt, err)
		}
	})
	t.Run("fail/short-key", func(t *testing.T) {
		keys := []*pluginv1.SealKey{{Version: 1, Key: []byte{1, 2, 3}}}
		if _, err := newSealer(rand.Reader, keys); err == nil {
			t.Fatal("a 3-byte key was accepted")
		}
		if !bytes.Equal(keys[0].Key, []byte{0, 0, 0}) {
			t.Fatal("a refused key was left in the request")
		}
	})
}
