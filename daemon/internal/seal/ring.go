package seal

import (
	"bytes"
	"cmp"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/aunsorm/aunsorm/sdk/proto/pluginv1"
)

const (
	// KeySize is the size of a root key and of a derived plugin key.
	KeySize = 32
	// maxRingBytes bounds the text read from any source.
	maxRingBytes = 64 << 10
	// derivationSalt is HKDF's salt: fixed, it separates this use of the
	// root key from any other.
	derivationSalt = "aunsorm/seal/root-key-derivation/v1"
	// PluginPurpose is the purpose in the info of the keys handed to a
	// plugin's sdk/seal Sealer (AES-256-GCM).
	PluginPurpose = "aunsorm/seal/plugin-sealer/aes-256-gcm/v1"
)

// ringHeader starts every key file the daemon writes.
const ringHeader = `# aunsorm root sealing key ring: SECRET. Whoever holds it can open every
# plugin's sealed values; keep it 0600 and back it up with the data it protects.
# One "<version>:<base64 key>" per line; the highest version seals. Written by
# aunsormd (first start, aunsormd seal rotate); edit only to retire a version.
`

// Ring is the daemon's root sealing key ring. It holds key material in
// unexported fields; String and GoString name only the versions.
type Ring struct {
	keys []rootKey // ascending versions
}

type rootKey struct {
	version uint32
	key     [KeySize]byte
}

// Parse reads a ring from its text form (see the package doc). Versions must
// be distinct decimal numbers from 1 to 2^32-1 and each key exactly 32 bytes
// of padded standard base64. Errors name the line, never its content.
func Parse(text []byte) (*Ring, error) {
	if len(text) > maxRingBytes {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrMalformed, maxRingBytes)
	}
	r := &Ring{}
	seen := map[uint32]bool{}
	for i, line := range strings.Split(string(text), "\n") {
		line = strings.TrimSpace(strings.TrimSuffix(line, "\r"))
		if line == "" || line[0] == '#' {
			continue
		}
		k, err := parseEntry(line)
		if err != nil {
			return nil, fmt.Errorf("%w: line %d: %s", ErrMalformed, i+1, err.Error())
		}
		if seen[k.version] {
			return nil, fmt.Errorf("%w: line %d: version %d appears twice", ErrMalformed, i+1, k.version)
		}
		seen[k.version] = true
		r.keys = append(r.keys, k)
	}
	if len(r.keys) == 0 {
		return nil, fmt.Errorf("%w: no key", ErrMalformed)
	}
	slices.SortFunc(r.keys, func(a, b rootKey) int { return cmp.Compare(a.version, b.version) })
	return r, nil
}

// parseEntry reads "<version>:<base64>". Its errors are plain text without
// the entry's content.
func parseEntry(line string) (rootKey, error) {
	var k rootKey
	v, b64, ok := strings.Cut(line, ":")
	if !ok {
		return k, errString(`want "<version>:<base64 key>"`)
	}
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil || n == 0 || v[0] == '0' || v[0] == '+' {
		return k, errString("version must be a number from 1 to 4294967295")
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(b64)
	if err != nil || len(raw) != KeySize {
		clear(raw)
		return k, errString("key must be 32 bytes in padded base64")
	}
	k.version = uint32(n)
	copy(k.key[:], raw)
	clear(raw)
	return k, nil
}

type errString string

func (e errString) Error() string { return string(e) }

// Generate returns a new ring holding one random version-1 key.
func Generate(rand io.Reader) (*Ring, error) {
	return (&Ring{}).rotated(rand)
}

// rotated returns a copy of r with a new random key one version above the
// current one.
func (r *Ring) rotated(rand io.Reader) (*Ring, error) {
	next := uint32(1)
	if len(r.keys) > 0 {
		cur := r.Current()
		if cur == math.MaxUint32 {
			return nil, fmt.Errorf("%w: no version left above %d", ErrMalformed, cur)
		}
		next = cur + 1
	}
	k := rootKey{version: next}
	if _, err := io.ReadFull(rand, k.key[:]); err != nil {
		return nil, fmt.Errorf("seal: random source: %w", err)
	}
	return &Ring{keys: append(slices.Clone(r.keys), k)}, nil
}

// Current returns the highest version, the one plugins seal with.
func (r *Ring) Current() uint32 { return r.keys[len(r.keys)-1].version }

// Versions returns the ring's versions in ascending order.
func (r *Ring) Versions() []uint32 {
	out := make([]uint32, len(r.keys))
	for i, k := range r.keys {
		out[i] = k.version
	}
	return out
}

// String names the versions only.
func (r *Ring) String() string { return fmt.Sprintf("seal.Ring(versions %v)", r.Versions()) }

// GoString names the versions only, so %#v does not print key material.
func (r *Ring) GoString() string { return r.String() }

// marshalSecret returns the ring's text form: key material.
func (r *Ring) marshalSecret() []byte {
	var b bytes.Buffer
	b.WriteString(ringHeader)
	for _, k := range r.keys {
		fmt.Fprintf(&b, "%d:%s\n", k.version, base64.StdEncoding.EncodeToString(k.key[:]))
	}
	return b.Bytes()
}

// PluginKey derives the key of one root version for instance and purpose:
// HKDF-SHA-256 with salt derivationSalt and info
// len16(purpose) ‖ purpose ‖ len16(instance) ‖ instance. The result is
// secret; the caller clears it when done.
func (r *Ring) PluginKey(version uint32, instance, purpose string) ([]byte, error) {
	i, ok := slices.BinarySearchFunc(r.keys, version, func(k rootKey, v uint32) int { return cmp.Compare(k.version, v) })
	if !ok {
		return nil, fmt.Errorf("seal: no root key version %d", version)
	}
	if instance == "" || len(instance) > math.MaxUint16 || len(purpose) > math.MaxUint16 {
		return nil, fmt.Errorf("seal: invalid instance name or purpose")
	}
	info := make([]byte, 0, 4+len(purpose)+len(instance))
	info = binary.BigEndian.AppendUint16(info, uint16(len(purpose)))
	info = append(info, purpose...)
	info = binary.BigEndian.AppendUint16(info, uint16(len(instance)))
	info = append(info, instance...)
	return hkdf.Key(sha256.New, r.keys[i].key[:], []byte(derivationSalt), string(info), KeySize)
}

// PluginKeys derives instance's sealer keys, one per root version, for the
// Configure request.
func (r *Ring) PluginKeys(instance string) ([]*pluginv1.SealKey, error) {
	out := make([]*pluginv1.SealKey, 0, len(r.keys))
	for _, k := range r.keys {
		key, err := r.PluginKey(k.version, instance, PluginPurpose)
		if err != nil {
			return nil, err
		}
		out = append(out, &pluginv1.SealKey{Version: k.version, Key: key})
	}
	return out, nil
}
