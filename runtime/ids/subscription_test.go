package ids_test

import (
	"errors"
	"testing"
	"time"

	"github.com/resolute-run/resolute/runtime/ids"
)

// TestSubscriptionID: ids restate-server 1.7.12 made on 2026-11-27 parse to that creation time
// and print back the same; ours are sub_1 and 22 characters, round-trip, and compare by their
// creation time; other strings are refused.
func TestSubscriptionID(t *testing.T) {
	day := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC).UnixMilli()
	for _, s := range []string{"sub_13Sb3GNOVATl5NiUATHPpGV", "sub_10iElqZlSDYiSPezICLztZL", "sub_13Y6ENYXMBdBtYtJnvYxAul"} {
		id, err := ids.ParseSubscriptionID(s)
		if err != nil || id.String() != s || id.Millis() < day || id.Millis() >= day+86_400_000 {
			t.Errorf("%s: %v (created %v) %v", s, id, time.UnixMilli(id.Millis()).UTC(), err)
		}
	}
	if id, err := ids.ParseSubscriptionID("sub_11111111111111111111111"); err != nil || id.String() != "sub_11111111111111111111111" {
		t.Errorf("sub_11111111111111111111111: %v %v", id, err)
	}
	early := ids.NewSubscriptionID(1_700_000_000_000, [10]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	late := ids.NewSubscriptionID(1_700_000_000_001, [10]byte{})
	for _, id := range []ids.SubscriptionID{early, late} {
		back, err := ids.ParseSubscriptionID(id.String())
		if err != nil || back != id || len(id.String()) != 27 {
			t.Errorf("%v: round trip %v %v", id, back, err)
		}
	}
	if early.Compare(late) >= 0 || early.Millis() != 1_700_000_000_000 {
		t.Errorf("%s does not sort before %s", early, late)
	}
	for _, s := range []string{"", "sub_1", "dp_13Sb3GNOVATl5NiUATHPpGV", "sub_23Sb3GNOVATl5NiUATHPpGV", "sub_13Sb3GNOVATl5NiUATHPp-V", "sub_1zzzzzzzzzzzzzzzzzzzzzz"} {
		if _, err := ids.ParseSubscriptionID(s); !errors.Is(err, ids.ErrBadSubscriptionID) {
			t.Errorf("%q: %v", s, err)
		}
	}
}
