package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/resolute-run/resolute/runtime/server"
)

// TestPgAddr: the PostgreSQL wire port is off unless pg-addr is set, on the command line or in
// the --config file; an address that is not host:port is refused at start, naming the flag.
func TestPgAddr(t *testing.T) {
	for _, tt := range []struct {
		name, file string
		args       []string
		want       string
		wantErr    string
	}{
		{name: "off by default", want: ""},
		{name: "flag", args: []string{"--pg-addr", "127.0.0.1:9071"}, want: "127.0.0.1:9071"},
		{name: "config file", file: "pg-addr = \"0.0.0.0:9071\"\n", want: "0.0.0.0:9071"},
		{name: "flag wins", file: "pg-addr = \"127.0.0.1:1\"\n", args: []string{"--pg-addr", "127.0.0.1:2"}, want: "127.0.0.1:2"},
		{name: "not host:port", args: []string{"--pg-addr", "9071"}, wantErr: `--pg-addr "9071": want host:port`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := serverConfigOf(t, tt.args, tt.file)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("config: %v, want an error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || cfg.PgAddr != tt.want {
				t.Fatalf("PgAddr %q, err %v; want %q", cfg.PgAddr, err, tt.want)
			}
		})
	}
}

// serverConfigOf is the server configuration the server command makes of args (after
// --log-level error) and, if file is not empty, a --config file with that content.
func serverConfigOf(t *testing.T, args []string, file string) (server.Config, error) {
	t.Helper()
	var f serverFlags
	cmd := &cobra.Command{Use: "server"}
	f.register(cmd)
	registerConfigFlag(cmd)
	args = append(append([]string(nil), args...), "--log-level", "error")
	if file != "" {
		path := filepath.Join(t.TempDir(), "resolute.toml")
		if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--config", path)
	}
	if err := cmd.Flags().Parse(args); err != nil {
		t.Fatal(err)
	}
	if err := applyConfigFile(cmd); err != nil {
		t.Fatal(err)
	}
	return f.config()
}
