package config

import (
	"errors"
	"os/user"
	"strconv"
	"testing"
)

func TestRunAs(t *testing.T) {
	orig := canSwitchIDs
	t.Cleanup(func() { canSwitchIDs = orig })
	canSwitchIDs = func() error { return nil }
	root, err := user.LookupId("0")
	if err != nil {
		t.Fatalf("no passwd entry for uid 0: %v", err)
	}
	block := func(attrs string) string {
		return "plugin \"crypto\" {\n  command = \"/bin/true\"\n" + attrs + "}\n"
	}
	for _, tt := range []struct {
		name, attrs string
		want        RunAs
	}{
		{"ok/user-name", "  user = \"" + root.Username + "\"\n", RunAs{UID: 0, GID: 0}},
		{"ok/numeric-user-without-entry", "  user = \"4000000\"\n", RunAs{UID: 4000000, GID: 4000000}},
		{"ok/numeric-group", "  user = \"0\"\n  group = \"4000001\"\n", RunAs{UID: 0, GID: 4000001}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, diags := parseString(block(tt.attrs), nil)
			if diags.HasErrors() {
				t.Fatal(FormatDiagnostics(diags))
			}
			if ra := c.Plugins[0].RunAs; ra == nil || *ra != tt.want {
				t.Fatalf("RunAs %+v, want %+v", ra, tt.want)
			}
		})
	}
	t.Run("ok/group-only-keeps-the-user", func(t *testing.T) {
		c, diags := parseString(block("  group = \"4000001\"\n"), nil)
		if diags.HasErrors() {
			t.Fatal(FormatDiagnostics(diags))
		}
		if ra := c.Plugins[0].RunAs; ra == nil || ra.UID != uint32(currentUID()) || ra.GID != 4000001 {
			t.Fatalf("RunAs %+v", ra)
		}
	})
	t.Run("ok/neither", func(t *testing.T) {
		c, diags := parseString(block(""), nil)
		if diags.HasErrors() || c.Plugins[0].RunAs != nil {
			t.Fatalf("%v %+v", FormatDiagnostics(diags), c.Plugins[0].RunAs)
		}
	})
	t.Run("ok/hash", func(t *testing.T) {
		a, _ := parseString(block(""), nil)
		b, _ := parseString(block("  user = \"4000000\"\n"), nil)
		if a.Plugins[0].Hash == b.Plugins[0].Hash {
			t.Fatal("user does not change the plugin's hash: a reload would not apply it")
		}
	})
	checkErrors(t, block("  user = \"no-such-user-aunsorm\"\n"), nil, []string{`t.hcl:3:10: Unknown user: user "no-such-user-aunsorm"`})
	checkErrors(t, block("  group = \"no-such-group-aunsorm\"\n"), nil, []string{`t.hcl:3:11: Unknown group: group "no-such-group-aunsorm"`})
	checkErrors(t, block("  user = 1000\n"), nil, []string{`t.hcl:3:10: Incorrect attribute value type`})

	canSwitchIDs = func() error { return errors.New("it lacks CAP_SETUID and CAP_SETGID") }
	checkErrors(t, block("  user = \"4000000\"\n"), nil, []string{
		`t.hcl:3:10: Cannot run the plugin as another user: The daemon cannot switch plugin "crypto" to uid 4000000 gid 4000000: it lacks CAP_SETUID and CAP_SETGID.`})
	checkErrors(t, block("  group = \"7\"\n"), nil, []string{
		`t.hcl:3:11: Cannot run the plugin as another user: The daemon cannot switch plugin "crypto" to uid ` + strconv.Itoa(currentUID()) + ` gid 7`})
}

// The real check agrees with the process's privileges: root holds
// CAP_SETUID and CAP_SETGID unless they were dropped.
func TestSwitchIDsCheck(t *testing.T) {
	err := switchIDsCheck()
	if currentUID() == 0 && err != nil {
		t.Fatalf("root: %v", err)
	}
	if currentUID() != 0 && err == nil {
		t.Skip("a non-root process with CAP_SETUID and CAP_SETGID")
	}
}
