package replay

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/resolute-run/resolute/sdk"
)

// RequireDeterministic replays every journal file matching patterns (filepath.Glob patterns,
// e.g. "testdata/journals/*.json") against e's handlers, and fails t for each one a handler does
// not replay deterministically (a Mismatch or a failure; a journal that ends before the handler
// does passes) or that cannot be replayed, and for a pattern that matches no file. It returns the
// reports, in file order, and logs each.
//
//	func TestShopReplays(t *testing.T) {
//		replay.RequireDeterministic(t, sdk.NewEndpoint().Bind(shop.Service()), "testdata/journals/*.json")
//	}
func RequireDeterministic(t testing.TB, e *sdk.Endpoint, patterns ...string) []*Report {
	t.Helper()
	var reports []*Report
	for _, pat := range patterns {
		files, err := filepath.Glob(pat)
		if err != nil || len(files) == 0 {
			t.Errorf("replay: no journal file matches %q (%v)", pat, err)
			continue
		}
		for _, f := range files {
			j, err := ReadFile(f)
			if err != nil {
				t.Errorf("replay: %v", err)
				continue
			}
			r, err := Check(context.Background(), e, j)
			if err != nil {
				t.Errorf("replay: %s: %v", f, err)
				continue
			}
			reports = append(reports, r)
			if !r.Deterministic() {
				t.Errorf("replay: %s: %v", f, r)
				continue
			}
			t.Logf("replay: %s: %v", f, r)
		}
	}
	return reports
}
