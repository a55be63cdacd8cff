package snapshot

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/resolute-run/resolute/runtime/raftlog"
)

// TestFreshNodeFromExportedSnapshots: every shard's full snapshot (SaveSnapshot over the real
// registry and partition tables) is exported and imported into an empty data directory; the
// server started there rebuilds each database from its snapshot (RecoverFromSnapshot) with every
// key and value byte-identical to the original, and then answers every result, object and
// registered service as the original did, with no Run step executed again.
func TestFreshNodeFromExportedSnapshots(t *testing.T) {
	dirA := t.TempDir()
	r := newRuns()
	s := startServer(t, dirA)
	if err := s.RegisterInProcess(t.Context(), "tally", tally(r)); err != nil {
		s.Close()
		t.Fatal(err)
	}
	ops := makeOps(60, 4)
	results := callAll(t, s.IngressURL(), ops)
	want := expected(ops)
	exportDir := t.TempDir()
	var exported []string
	for _, id := range shards {
		dir := filepath.Join(exportDir, fmt.Sprint(id))
		if err := os.Mkdir(dir, 0o755); err != nil {
			s.Close()
			t.Fatal(err)
		}
		src, err := s.RaftHost().ExportSnapshot(context.Background(), id, dir)
		if err != nil {
			s.Close()
			t.Fatal(err)
		}
		exported = append(exported, src)
	}
	s.Close()
	original := dumpData(t, dirA)

	// A new data directory holding nothing but the node's Raft address and the imports.
	dirB := t.TempDir()
	addr, err := os.ReadFile(filepath.Join(dirA, "raft", "local-address"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dirB, "raft"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dirB, "raft", "local-address"), addr, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, src := range exported {
		if err := raftlog.ImportSnapshot(raftlog.Config{Dir: filepath.Join(dirB, "raft")}, src); err != nil {
			t.Fatal(err)
		}
	}
	s = startServer(t, dirB)
	// The registry's view was loaded from the empty database before the shard started: it shows
	// the service only if recovering from the snapshot refreshed it.
	services := s.Registry().Services()
	s.Close()
	if len(services) != 1 || services[0].Name != "Tally" {
		t.Errorf("services after import %+v, want Tally", services)
	}
	if d := diffData(original, dumpData(t, dirB)); d != "" {
		t.Fatalf("databases rebuilt from the exported snapshots differ from the originals: %s", d)
	}

	s = startServer(t, dirB)
	defer s.Close()
	if err := s.RegisterInProcess(t.Context(), "tally", tally(r)); err != nil {
		t.Fatal(err)
	}
	if got := callAll(t, s.IngressURL(), ops); !reflect.DeepEqual(got, results) {
		t.Errorf("results on the rebuilt node differ from the original's")
	}
	if got := views(t, s.IngressURL(), ops); !reflect.DeepEqual(got, want) {
		t.Errorf("objects on the rebuilt node %+v, want %+v", got, want)
	}
	for _, o := range ops {
		if n := len(r.tokens[o.ID]); n != 1 {
			t.Errorf("%s: Run step executed %d times, want 1", o.ID, n)
		}
	}
}
