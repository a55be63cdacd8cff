//go:build linux

package e2e

import (
	"slices"
	"testing"
)

// Frame types the lazy-state suites look for on the wire (the protocol's GetLazyStateCommand
// and GetLazyStateKeysCommand).
const (
	frameGetLazyState     uint16 = 0x0402
	frameGetLazyStateKeys uint16 = 0x0406
)

var (
	// lazyState is upstream's RESTATE_WORKER__INVOKER__DISABLE_EAGER_STATE=true: keyed
	// handlers start without their state and read it with GetLazyState commands. Ours:
	// --disable-eager-state.
	lazyState = suite{
		name:     "lazyState",
		ours:     []string{"--disable-eager-state"},
		official: []string{"RESTATE_WORKER__INVOKER__DISABLE_EAGER_STATE=true"},
		lazy:     true,
	}
	// lazyStateAlwaysSuspending is lazyState and alwaysSuspending together.
	lazyStateAlwaysSuspending = suite{
		name:     "lazyStateAlwaysSuspending",
		ours:     append(slices.Clone(alwaysSuspending.ours), lazyState.ours...),
		official: append(slices.Clone(alwaysSuspending.official), lazyState.official...),
		suspends: true,
		lazy:     true,
	}
)

// checkLazyState fails unless some invocation stream of d read state lazily: a lazy-state suite
// whose handlers got their state eagerly tested nothing more than default.
func checkLazyState(t *testing.T, d *deployment) {
	if d.ran.Load() == 0 {
		return // every scenario skipped
	}
	streams := d.tap.Streams()
	for _, s := range streams {
		if s.Has(frameGetLazyState) || s.Has(frameGetLazyStateKeys) {
			return
		}
	}
	if !t.Failed() && !t.Skipped() {
		t.Errorf("%s: none of %d invocation streams read state lazily", d.kind, len(streams))
	}
}
