package plugintest

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/rs/zerolog"

	"github.com/aunsorm/aunsorm/sdk/plugin"
	"github.com/aunsorm/aunsorm/sdk/pluginhost"
	"github.com/aunsorm/aunsorm/sdk/proto/pluginv1"
)

// Validate runs the validate-only Configure that `aunsormd config validate`
// performs: the binary is launched with no host services and asked only to
// decode and check config (the body of its `config { ... }` block, starting
// at line 1 of ConfigFilename). It returns nil for a valid configuration and
// the *plugin.ConfigError with the plugin's diagnostics otherwise; a plugin
// that cannot be launched or answers out of protocol fails the test.
func Validate(t testing.TB, binary, config string) error {
	t.Helper()
	lw := &testLogWriter{t: t}
	defer lw.close()
	err := validate(t.Context(), Options{Binary: binary, Config: config, Log: lw})
	var ce *plugin.ConfigError
	if errors.As(err, &ce) {
		return ce
	}
	if err != nil {
		t.Fatalf("plugintest: validate %s: %v", binary, err)
	}
	return nil
}

// validate is Validate without a testing.TB.
func validate(ctx context.Context, opts Options) error {
	if opts.Binary == "" {
		return fmt.Errorf("%w: Binary is required", ErrOptions)
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = DefaultStartTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, opts.StartTimeout)
	defer cancel()
	log := zerolog.Nop()
	if opts.Log != nil {
		log = zerolog.New(opts.Log).With().Timestamp().Logger()
	}
	client, _, err := launch(ctx, opts, pluginv1.UnimplementedHostServer{}, log)
	if err != nil {
		return err
	}
	defer client.Kill()
	name := opts.Name
	if name == "" {
		name = client.Descriptor().Kind
	}
	return client.Configure(ctx, &pluginhost.ConfigureRequest{
		ValidateOnly: true, InstanceName: name,
		ConfigHcl: []byte(opts.Config), ConfigFilename: ConfigFilename, ConfigLine: 1, ConfigColumn: 1,
	})
}
