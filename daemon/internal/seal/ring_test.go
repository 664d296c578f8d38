package seal

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	sdkseal "github.com/aunsorm/aunsorm/sdk/seal"
)

// seqKey is base64 of the bytes 0..31.
const seqKey = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

func TestParse(t *testing.T) {
	other := strings.Repeat("A", 43) + "="
	tests := []struct {
		name     string
		text     string
		versions []uint32
		want     error
	}{
		{"ok/one", "1:" + seqKey, []uint32{1}, nil},
		{"ok/comments-crlf-unordered", "# ring\r\n\r\n  3:" + seqKey + "  \r\n1:" + other + "\n", []uint32{1, 3}, nil},
		{"ok/written-form", string((&Ring{keys: []rootKey{{version: 1}, {version: 2}}}).marshalSecret()), []uint32{1, 2}, nil},
		{"fail/empty", "", nil, ErrMalformed},
		{"fail/only-comments", "# nothing\n", nil, ErrMalformed},
		{"fail/no-version", seqKey, nil, ErrMalformed},
		{"fail/version-zero", "0:" + seqKey, nil, ErrMalformed},
		{"fail/leading-zero", "01:" + seqKey, nil, ErrMalformed},
		{"fail/negative", "-1:" + seqKey, nil, ErrMalformed},
		{"fail/too-big", "4294967296:" + seqKey, nil, ErrMalformed},
		{"fail/duplicate", "1:" + seqKey + "\n1:" + other, nil, ErrMalformed},
		{"fail/short-key", "1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==", nil, ErrMalformed},
		{"fail/unpadded", "1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", nil, ErrMalformed},
		{"fail/url-alphabet", "1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd-_8=", nil, ErrMalformed},
		{"fail/too-long", strings.Repeat("#", maxRingBytes+1), nil, ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Parse([]byte(tc.text))
			if !errors.Is(err, tc.want) {
				t.Fatalf("Parse error = %v, want %v", err, tc.want)
			}
			if err != nil {
				if strings.Contains(err.Error(), "AAECAwQF") || strings.Contains(err.Error(), "AAAA") {
					t.Fatalf("the error quotes key material: %v", err)
				}
				return
			}
			if !slices.Equal(r.Versions(), tc.versions) || r.Current() != tc.versions[len(tc.versions)-1] {
				t.Fatalf("versions %v current %d", r.Versions(), r.Current())
			}
		})
	}
}

func TestRingDoesNotPrintKeys(t *testing.T) {
	r, err := Parse([]byte("1:" + seqKey))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{fmt.Sprint(r), fmt.Sprintf("%v %+v %#v %s", r, r, r, r)} {
		if strings.Contains(s, "AAECAw") || strings.Contains(s, "[0 1 2 3") || strings.Contains(s, "0x0, 0x1") {
			t.Fatalf("formatting a ring printed key material: %s", s)
		}
	}
}

// TestPluginKeyKnownAnswer pins the derivation against HKDF-SHA-256
// computed by an independent implementation (Python cryptography's HKDF).
func TestPluginKeyKnownAnswer(t *testing.T) {
	r, err := Parse([]byte("1:" + seqKey))
	if err != nil {
		t.Fatal(err)
	}
	for instance, want := range map[string]string{
		"kms":  "22011bd7b67e88862d0341783f1c655f285c57f8f1b5b732fee361a84a0eb704",
		"auth": "78a09f4588e3538b7cd1a0cbaecbcb294045558231faaea4d8845bbe34b1aef3",
	} {
		t.Run("ok/"+instance, func(t *testing.T) {
			k, err := r.PluginKey(1, instance, PluginPurpose)
			if err != nil || hex.EncodeToString(k) != want {
				t.Fatalf("PluginKey = %x, %v; want %s", k, err, want)
			}
		})
	}
	t.Run("fail/unknown-version", func(t *testing.T) {
		if _, err := r.PluginKey(2, "kms", PluginPurpose); err == nil {
			t.Fatal("no error")
		}
	})
	t.Run("fail/empty-instance", func(t *testing.T) {
		if _, err := r.PluginKey(1, "", PluginPurpose); err == nil {
			t.Fatal("no error")
		}
	})
}

// sealerFor builds the sdk/seal Sealer a plugin instance gets from ring.
func sealerFor(t testing.TB, r *Ring, instance string) *sdkseal.Sealer {
	t.Helper()
	keys, err := r.PluginKeys(instance)
	if err != nil {
		t.Fatal(err)
	}
	ks := make([]sdkseal.Key, len(keys))
	for i, k := range keys {
		ks[i] = sdkseal.Key{Version: k.Version, Secret: k.Key}
	}
	s, err := sdkseal.New(rand.Reader, ks...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestBarrier: what one instance seals, another does not open, under the
// same root key; after a rotation both versions open for the owner only.
func TestBarrier(t *testing.T) {
	r, err := Generate(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	kms, auth := sealerFor(t, r, "kms"), sealerFor(t, r, "auth")
	sealed, err := kms.Seal([]byte("keys/k1"), []byte("private key"))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := auth.Open([]byte("keys/k1"), sealed); !errors.Is(err, sdkseal.ErrRefused) {
		t.Fatalf("another instance opened the value: %v", err)
	}
	r2, err := r.rotated(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	kms2 := sealerFor(t, r2, "kms")
	pt, stale, err := kms2.Open([]byte("keys/k1"), sealed)
	if err != nil || !stale || string(pt) != "private key" {
		t.Fatalf("after rotation: %q stale=%v err=%v", pt, stale, err)
	}
	fresh, _ := kms2.Seal([]byte("keys/k1"), []byte("private key"))
	if _, _, err := sealerFor(t, r2, "auth").Open([]byte("keys/k1"), fresh); !errors.Is(err, sdkseal.ErrRefused) {
		t.Fatalf("another instance opened the new value: %v", err)
	}
	k1a, _ := r.PluginKey(1, "kms", PluginPurpose)
	k1b, _ := r2.PluginKey(1, "kms", PluginPurpose)
	k2, _ := r2.PluginKey(2, "kms", PluginPurpose)
	if !bytes.Equal(k1a, k1b) || bytes.Equal(k1a, k2) {
		t.Fatal("rotation changed an old version's derived key, or the new one equals it")
	}
}
