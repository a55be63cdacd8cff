package main

import (
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
