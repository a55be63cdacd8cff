package main

import (
	"maps"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/resolute-run/resolute/actors/partition"
)

// TestAdmissionFlags: the admission bounds reach the server's config, default to the partition's
// defaults, and nonsense is refused with the flags named.
func TestAdmissionFlags(t *testing.T) {
	for _, tt := range []struct {
		name                string
		args                []string
		wantQueued, wantCal int
		wantErr             string
	}{
		{"defaults", nil, partition.DefaultMaxQueued, partition.DefaultMaxCalling, ""},
		{"set", []string{"--max-queued-proposals", "64", "--max-calls-in-flight", "8"}, 64, 8, ""},
		{"zero", []string{"--max-calls-in-flight", "0"}, 0, 0, "--max-calls-in-flight 0"},
		{"negative", []string{"--max-queued-proposals", "-1"}, 0, 0, "--max-queued-proposals -1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var f serverFlags
			cmd := &cobra.Command{Use: "server"}
			f.register(cmd)
			if err := cmd.Flags().Parse(append(tt.args, "--log-level", "error")); err != nil {
				t.Fatal(err)
			}
			cfg, err := f.config()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("config: %v, want an error naming %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.MaxQueuedProposals != tt.wantQueued || cfg.MaxCallsInFlight != tt.wantCal {
				t.Fatalf("MaxQueuedProposals %d, MaxCallsInFlight %d; want %d, %d", cfg.MaxQueuedProposals, cfg.MaxCallsInFlight, tt.wantQueued, tt.wantCal)
			}
		})
	}
}

// TestPeersFlag: --peers names the initial members as id@raft-address; malformed entries and
// repeated ids are refused naming the entry.
func TestPeersFlag(t *testing.T) {
	for _, tt := range []struct {
		in      string
		want    map[uint64]string
		wantErr string
	}{
		{"", nil, ""},
		{"1@127.0.0.1:7001,2@127.0.0.1:7002, 3@127.0.0.1:7003", map[uint64]string{1: "127.0.0.1:7001", 2: "127.0.0.1:7002", 3: "127.0.0.1:7003"}, ""},
		{"1@127.0.0.1:7001,127.0.0.1:7002", nil, `"127.0.0.1:7002" is not id@host:port`},
		{"0@127.0.0.1:7001", nil, `"0@127.0.0.1:7001" is not id@host:port`},
		{"1@a:1,1@b:2", nil, "node 1 named twice"},
	} {
		got, err := parsePeers(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("parsePeers(%q): %v, want an error containing %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !maps.Equal(got, tt.want) {
			t.Errorf("parsePeers(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}
