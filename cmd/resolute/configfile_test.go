package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
)

// TestConfigFile: `resolute server --config FILE` takes every flag from the TOML file by its
// name; a flag on the command line wins; unknown keys, tables and bad values are refused with the
// key named.
func TestConfigFile(t *testing.T) {
	for _, tt := range []struct {
		name, file string
		args       []string
		check      func(t *testing.T, f *serverFlags)
		wantErr    string
	}{
		{name: "settings from the file", file: `
data-dir = "/srv/resolute"
ingress-addr = "127.0.0.1:8082"
partitions = 16
retry-initial-interval = "250ms"
retry-on-max-attempts = "kill"
max-calls-in-flight = 64
`, check: func(t *testing.T, f *serverFlags) {
			if f.dataDir != "/srv/resolute" || f.ingressAddr != "127.0.0.1:8082" || f.partitions != 16 || f.retryInitial != 250*time.Millisecond ||
				f.retryOnMaxAttempts != "kill" || f.maxCallsInFlight != 64 {
				t.Fatalf("flags after the file: %+v", *f)
			}
		}},
		{name: "the command line wins", file: "ingress-addr = \"127.0.0.1:8082\"\nadmin-addr = \"127.0.0.1:9072\"\n",
			args: []string{"--ingress-addr", "127.0.0.1:9999"}, check: func(t *testing.T, f *serverFlags) {
				if f.ingressAddr != "127.0.0.1:9999" || f.adminAddr != "127.0.0.1:9072" {
					t.Fatalf("ingress %s admin %s, want the flag's ingress and the file's admin", f.ingressAddr, f.adminAddr)
				}
			}},
		{name: "arrays are comma-separated values", file: `data-dir = ["a", "b"]`, check: func(t *testing.T, f *serverFlags) {
			if f.dataDir != "a,b" {
				t.Fatalf("data-dir %q", f.dataDir)
			}
		}},
		{name: "unknown key", file: "ingress-address = \"x\"\n", wantErr: `unknown setting "ingress-address"`},
		{name: "bad value", file: "partitions = \"many\"\n", wantErr: `partitions = "many"`},
		{name: "a table is not a flag", file: "[partitions]\ncount = 3\n", wantErr: "partitions: a map[string]interface {} is not a setting"},
		{name: "an unknown table", file: "[retry]\nmax = 3\n", wantErr: `unknown setting "retry"`},
		{name: "not TOML", file: "partitions = = 3\n", wantErr: "--config"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "resolute.toml")
			if err := os.WriteFile(path, []byte(tt.file), 0o600); err != nil {
				t.Fatal(err)
			}
			var f serverFlags
			cmd := &cobra.Command{Use: "server"}
			f.register(cmd)
			registerConfigFlag(cmd)
			if err := cmd.Flags().Parse(append(tt.args, "--config", path)); err != nil {
				t.Fatal(err)
			}
			err := applyConfigFile(cmd)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("applyConfigFile: %v, want an error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, &f)
		})
	}
}
