package raftlog

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/lni/dragonboat/v4"
)

// TestClosedHostDescribesNoShards: a partition's goroutines may still ask about their shard while
// the server shuts down (the host closes first); a closed host answers with an error, not a panic.
func TestClosedHostDescribesNoShards(t *testing.T) {
	h, err := NewHost(Config{Dir: filepath.Join(t.TempDir(), "raft")})
	if err != nil {
		t.Fatal(err)
	}
	h.Close()
	if _, err := h.Shard(1000); !errors.Is(err, dragonboat.ErrClosed) {
		t.Errorf("Shard on a closed host: %v, want dragonboat.ErrClosed", err)
	}
	if got := h.Shards(); got != nil {
		t.Errorf("Shards on a closed host: %v, want none", got)
	}
}
