package config

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// Sources of the root sealing key ring (the `seal` block).
const (
	SealFile       = "file"       // a key file, created on first start (the default)
	SealEnv        = "env"        // an environment variable of the daemon
	SealCredential = "credential" // a file in systemd's $CREDENTIALS_DIRECTORY
)

// Defaults of the seal block.
const (
	// DefaultSealKeyFile is the key file under data_dir.
	DefaultSealKeyFile = "seal/root.keys"
	// EnvCredentialsDirectory is set by systemd (LoadCredential=,
	// SetCredentialEncrypted=) to the directory holding a unit's credentials.
	EnvCredentialsDirectory = "CREDENTIALS_DIRECTORY"
)

// EnvSealKeyFile overrides seal.key_file (and selects the file source).
const EnvSealKeyFile = "AUNSORM_SEAL_KEY_FILE"

// Seal says where the daemon's root sealing key ring comes from. The ring
// never leaves the daemon: plugins get keys derived for their instance name.
// The config package only checks names and paths; daemon/internal/seal
// reads the key.
type Seal struct {
	// Source is SealFile, SealEnv or SealCredential (derived from which
	// attribute is set).
	Source string
	// KeyFile is the key ring file (file source; default
	// <data_dir>/seal/root.keys). It is created 0600 on first start and
	// refused when group or others may read it.
	KeyFile string
	// KeyEnv names the environment variable holding the ring (env source).
	KeyEnv string
	// Credential names the file in $CREDENTIALS_DIRECTORY holding the ring
	// (credential source).
	Credential string
}

var (
	sealSchema = &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{{Name: "key_file"}, {Name: "key_env"}, {Name: "credential"}},
	}
	envNamePattern    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	credentialPattern = regexp.MustCompile(`^[A-Za-z0-9_.@-]+$`)
)

// redacted names where the ring comes from, never its content.
func (s Seal) redacted() map[string]any {
	out := map[string]any{"source": s.Source}
	switch s.Source {
	case SealFile:
		out["key_file"] = s.KeyFile
	case SealEnv:
		out["key_env"] = s.KeyEnv
	case SealCredential:
		out["credential"] = s.Credential
	}
	return out
}

func (p *parser) decodeSeal(b *hcl.Block) {
	content, diags := b.Body.Content(sealSchema)
	p.diags = append(p.diags, diags...)
	s := &p.cfg.Seal
	a := content.Attributes
	p.str(a, "key_file", "seal.key_file", "string", &s.KeyFile)
	p.str(a, "key_env", "seal.key_env", "string", &s.KeyEnv)
	p.str(a, "credential", "seal.credential", "string", &s.Credential)
}

// envSeal applies AUNSORM_SEAL_KEY_FILE, which selects the file source.
func (p *parser) envSeal() {
	if p.envString(EnvSealKeyFile, "seal.key_file", &p.cfg.Seal.KeyFile) {
		p.cfg.Seal.KeyEnv, p.cfg.Seal.Credential = "", ""
		delete(p.from, "seal.key_env")
		delete(p.from, "seal.credential")
	}
}

// validateSeal picks the source (one of key_file, key_env, credential;
// key_file under data_dir when none is set) and checks its name.
func (p *parser) validateSeal() {
	s := &p.cfg.Seal
	blk := p.block("seal")
	var set []string
	for _, k := range []string{"key_file", "key_env", "credential"} {
		if _, ok := p.from["seal."+k]; ok {
			set = append(set, k)
		}
	}
	if len(set) > 1 {
		p.errAt("seal."+set[1], blk, "Conflicting seal settings",
			fmt.Sprintf("Set one of key_file, key_env or credential, not %s.", strings.Join(set, " and ")))
		return
	}
	switch {
	case s.KeyEnv != "" || len(set) == 1 && set[0] == "key_env":
		s.Source = SealEnv
		if !envNamePattern.MatchString(s.KeyEnv) {
			p.errAt("seal.key_env", blk, "Invalid key_env", "key_env must name an environment variable ([A-Za-z_][A-Za-z0-9_]*).")
		}
	case s.Credential != "" || len(set) == 1 && set[0] == "credential":
		s.Source = SealCredential
		if !credentialPattern.MatchString(s.Credential) || s.Credential == "." || s.Credential == ".." {
			p.errAt("seal.credential", blk, "Invalid credential", "credential must be a credential name (a file name in $CREDENTIALS_DIRECTORY, no '/').")
		}
	default:
		s.Source = SealFile
		key := "seal.key_file"
		if _, ok := p.from[key]; !ok {
			s.KeyFile = filepath.Join(p.cfg.DataDir, DefaultSealKeyFile)
			key = "data_dir" // the default follows data_dir
		}
		if s.KeyFile == "" {
			p.errAt(key, blk, "Invalid key_file", "key_file must not be empty.")
		}
	}
}
