package pluginhost

import (
	"bufio"
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

// FuzzLogWriter feeds arbitrary plugin output to the daemon-side parser:
// it must never panic, always consume everything, and never log above
// error level or a line longer than the limit.
func FuzzLogWriter(f *testing.F) {
	for _, s := range []string{
		`{"@timestamp":1}` + "\n",
		`{"@level":7,"@message":{"x":1}}` + "\n",
		`{"level":"panic","message":"x"}` + "\n",
		"\xff\xfe\x00\x01\n",
		strings.Repeat("A", 20000) + "\nnext\n",
		strings.Repeat("\x01", 20000) + "\n", // each escaped to \u0001 in JSON
		`{"level":"info","message":"ok","k":"v"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var out bytes.Buffer
		w := newLogWriter(zerolog.New(&out), "stderr")
		// Feed in uneven chunks, as a pipe would.
		for i := 0; i < len(in); {
			n := 1 + (int(in[i]) % 97)
			if i+n > len(in) {
				n = len(in) - i
			}
			if got, err := w.Write(in[i : i+n]); err != nil || got != n {
				t.Fatalf("Write consumed %d of %d: %v", got, n, err)
			}
			i += n
		}
		sc := bufio.NewScanner(&out)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if strings.Contains(line, `"level":"panic"`) || strings.Contains(line, `"level":"fatal"`) {
				t.Fatalf("logged above error: %s", line)
			}
			// A kept line is at most maxLogLine bytes; JSON escaping
			// writes a control byte as six (\u0001).
			if len(line) > 6*maxLogLine+4096 {
				t.Fatalf("a logged line of %d bytes", len(line))
			}
		}
	})
}

// FuzzHandshakeFilter: whatever precedes the handshake line is diverted,
// and the handshake line and everything after pass through unchanged.
func FuzzHandshakeFilter(f *testing.F) {
	f.Add([]byte("hello\n1|2|tcp|notahandshake\n"), []byte("after\n"))
	f.Add([]byte(""), []byte(""))
	f.Add([]byte(strings.Repeat("x", 70000)+"\n"), []byte("tail"))
	const hs = "1|1|unix|/tmp/plugin123|grpc|cert\n"
	f.Fuzz(func(t *testing.T, noise, after []byte) {
		// Keep the noise from containing a handshake line of its own.
		noise = bytes.ReplaceAll(noise, []byte("rpc"), []byte("rpx"))
		var diverted bytes.Buffer
		src := append(append(append([]byte{}, noise...), '\n'), hs...)
		src = append(src, after...)
		hf := &handshakeFilter{r: bufio.NewReaderSize(bytes.NewReader(src), 64<<10), closer: io.NopCloser(nil), noise: &diverted}
		got, err := io.ReadAll(hf)
		if err != nil {
			if strings.Contains(err.Error(), "too much output") {
				return
			}
			t.Fatal(err)
		}
		if want := hs + string(after); string(got) != want {
			t.Fatalf("passed %q, want %q", got, want)
		}
	})
}
