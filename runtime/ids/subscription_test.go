package ids_test

import (
	"errors"
	"testing"

	"github.com/resolute-run/resolute/runtime/ids"
)

// TestSubscriptionID: ids restate-server 1.7.12 made parse and print back the same; ours are
// sub_1 and 22 characters, round-trip, and sort by their creation time; other strings are refused.
func TestSubscriptionID(t *testing.T) {
	for _, s := range []string{"sub_13Sb3GNOVATl5NiUATHPpGV", "sub_10iElqZlSDYiSPezICLztZL", "sub_11111111111111111111111"} {
		id, err := ids.ParseSubscriptionID(s)
		if err != nil || id.String() != s {
			t.Errorf("%s: %v %v", s, id, err)
		}
	}
	early := ids.NewSubscriptionID(1_700_000_000_000, [10]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	late := ids.NewSubscriptionID(1_700_000_000_001, [10]byte{})
	for _, id := range []ids.SubscriptionID{early, late} {
		back, err := ids.ParseSubscriptionID(id.String())
		if err != nil || back != id || len(id.String()) != 27 {
			t.Errorf("%v: round trip %v %v", id, back, err)
		}
	}
	if early.Compare(late) >= 0 || early.String() >= late.String() {
		t.Errorf("%s does not sort before %s", early, late)
	}
	for _, s := range []string{"", "sub_1", "dp_13Sb3GNOVATl5NiUATHPpGV", "sub_23Sb3GNOVATl5NiUATHPpGV", "sub_13Sb3GNOVATl5NiUATHPp-V", "sub_1zzzzzzzzzzzzzzzzzzzzzz"} {
		if _, err := ids.ParseSubscriptionID(s); !errors.Is(err, ids.ErrBadSubscriptionID) {
			t.Errorf("%q: %v", s, err)
		}
	}
}
