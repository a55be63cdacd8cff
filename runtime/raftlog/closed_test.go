package raftlog

import (
	"errors"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
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

// TestCloseWhileDescribing: a partition's goroutines may ask about their shard at the very moment
// the host closes (tests/snapshot once caught Shard reading what NodeHost.Close cleared, under
// -race). Descriptions running during Close end with a result or ErrClosed, and the race
// detector sees no conflict.
func TestCloseWhileDescribing(t *testing.T) {
	h, db, _ := startHost(t, t.TempDir())
	defer db.Close()
	stop := make(chan struct{})
	var described sync.WaitGroup
	var calls atomic.Int64
	for range 4 {
		described.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				_ = h.Shards()
				_, _ = h.Shard(7)
				_, _, _ = h.LeaderID(7)
				_, _ = h.LogInfo(7)
				calls.Add(1)
			}
		})
	}
	for calls.Load() < 100 { // the describers are running
		runtime.Gosched()
	}
	h.Close()
	close(stop)
	described.Wait()
	if _, err := h.Shard(7); !errors.Is(err, dragonboat.ErrClosed) {
		t.Errorf("Shard after Close: %v, want dragonboat.ErrClosed", err)
	}
	if _, _, err := h.LeaderID(7); !errors.Is(err, dragonboat.ErrClosed) {
		t.Errorf("LeaderID after Close: %v, want dragonboat.ErrClosed", err)
	}
}
