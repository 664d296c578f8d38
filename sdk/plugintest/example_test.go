package plugintest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"strings"
	"testing"

	"github.com/aunsorm/aunsorm/sdk/plugintest"
)

// Run the echo plugin under the test host and send it one request. In a
// test, use Start instead: it fails the test on error and stops the plugin
// when the test ends. (echoBinary is built by this package's TestMain with
// `go build -o ... ./examples/echo`.)
func ExampleNew() {
	h, err := plugintest.New(context.Background(), plugintest.Options{
		Binary: echoBinary,
		Config: `greeting = "merhaba"`, // the body of the plugin's config { } block
	})
	if err != nil {
		log.Fatal(err)
	}
	defer h.Close()

	// h.URL is the plugin's own listener, where the gateway forwards /echo/.
	resp, err := http.Post(h.URL+"/echo/", "application/json", strings.NewReader(`{"ping": 1}`))
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Greeting string          `json:"greeting"`
		Echo     json.RawMessage `json:"echo"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.StatusCode, out.Greeting, string(out.Echo))

	// The plugin appended one event through the Audit host service.
	for _, rec := range h.Audit() {
		fmt.Println(rec.Sequence, rec.Action, rec.Outcome)
	}
	// Output:
	// 200 merhaba {"ping":1}
	// 1 echo.request ok
}

// The shape of a plugin's own test: Start the binary, send a request and
// look at what the plugin audited.
func ExampleStart() {
	testEcho := func(t *testing.T) {
		h := plugintest.Start(t, plugintest.Options{Binary: "bin/aunsorm-plugin-echo"})
		resp, err := http.Post(h.URL+"/echo/", "application/json", strings.NewReader(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || len(h.Audit()) != 1 {
			t.Fatalf("status %d, %d audit records", resp.StatusCode, len(h.Audit()))
		}
	}
	_ = testEcho // a func TestEcho(t *testing.T) in the plugin's echo_test.go
}

// Every plugin should pass the conformance suite, from its own tests.
func ExampleConform() {
	testConformance := func(t *testing.T) {
		plugintest.Conform(t, plugintest.Options{
			Binary: "bin/aunsorm-plugin-echo",
			Config: `greeting = "hello"`,
		}, "echo")
	}
	_ = testConformance // a func TestConformance(t *testing.T) in the plugin's tests
}
