package config

import (
	"os"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

// TestDocsCoverEverything keeps docs/configuration.md and .env.example in
// step with the schema and the environment variables.
func TestDocsCoverEverything(t *testing.T) {
	docs, err := os.ReadFile("../../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	envExample, err := os.ReadFile("../../../.env.example")
	if err != nil {
		t.Fatal(err)
	}
	vars := []string{
		EnvDataDir, EnvLogLevel, EnvLogFormat, EnvGatewayListen, EnvGatewayTLS,
		EnvGatewayTLSCertFile, EnvGatewayTLSKeyFile, EnvClockMaxAge, EnvClockMaxAgeSecs, EnvClockSource,
		EnvClockRefreshURL, EnvClockAuthorityFingerprint, EnvCalibrationFingerprint, EnvRNGReseedInterval,
		EnvAdminSocket, EnvAdminListen, EnvAdminTokenFile, "AUNSORM_PLUGIN_<NAME>_LISTEN",
	}
	for _, v := range vars {
		t.Run("ok/env/"+v, func(t *testing.T) {
			if !strings.Contains(string(docs), "`"+v+"`") {
				t.Errorf("docs/configuration.md does not document %s", v)
			}
			if !strings.Contains(string(envExample), v) {
				t.Errorf(".env.example does not list %s", v)
			}
		})
	}
	for _, s := range []*hcl.BodySchema{
		rootSchema, logSchema, gatewaySchema, tlsSchema, rateLimitSchema,
		clockSchema, rngSchema, adminSchema, pluginSchema,
	} {
		var names []string
		for _, a := range s.Attributes {
			names = append(names, a.Name)
		}
		for _, b := range s.Blocks {
			names = append(names, b.Type)
		}
		for _, n := range names {
			t.Run("ok/schema/"+n, func(t *testing.T) {
				if !strings.Contains(string(docs), "`"+n) {
					t.Errorf("docs/configuration.md does not document %q", n)
				}
			})
		}
	}
	for name, listen := range defaultPluginListen {
		t.Run("ok/default-listen/"+name, func(t *testing.T) {
			if !strings.Contains(string(docs), "| `"+name+"` | `"+listen+"` |") {
				t.Errorf("docs/configuration.md lacks the default listener of %q", name)
			}
		})
	}
}
