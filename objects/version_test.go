package objects

import (
	"testing"

	"github.com/resolute-run/resolute/runtime/storage"
)

// A state's version is restate-server's StateMutationVersion (43 characters of base64 URL-safe);
// a version in the format Resolute handed out before (64 hex digits), as a state patch recorded
// in an older log carries it, is still compared in its own format, so that applying that log
// again gives the same outcome.
func TestStateVersionFormats(t *testing.T) {
	state := []storage.StateEntry{{Key: []byte("count"), Value: []byte("5")}, {Key: []byte("name"), Value: []byte(`"bob"`)}}
	other := []storage.StateEntry{{Key: []byte("count"), Value: []byte("6")}}
	v, legacy := StateVersion(state), legacyStateVersion(state)
	if len(v) != 43 || len(legacy) != 64 {
		t.Fatalf("versions %q (%d), %q (%d)", v, len(v), legacy, len(legacy))
	}
	for _, tc := range []struct {
		state   []storage.StateEntry
		version string
		match   bool
	}{
		{state, v, true}, {state, legacy, true}, {other, v, false}, {other, legacy, false}, {nil, StateVersion(nil), true},
	} {
		if got := versionOf(tc.state, tc.version) == tc.version; got != tc.match {
			t.Errorf("versionOf(%q, %q) matches: %v, want %v", tc.state, tc.version, got, tc.match)
		}
	}
	// Entry order matters (restate-server sorts by key, as storage returns them).
	swapped := []storage.StateEntry{state[1], state[0]}
	if StateVersion(swapped) == v {
		t.Error("the version does not depend on the entries' order")
	}
}
