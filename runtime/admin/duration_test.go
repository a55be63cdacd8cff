package admin

import (
	"testing"
	"time"
)

// TestParseDuration: the forms restate-server 1.7.12 accepted in PATCH /services/{name}
// ("2h", "PT5M", "90 seconds", "3 days" → 2h, 5m, 1m 30s, 3d), a few more of jiff's, and the
// refusals ("soon" answered 422 there).
func TestParseDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"2h", 2 * time.Hour, true},
		{"PT5M", 5 * time.Minute, true},
		{"90 seconds", 90 * time.Second, true},
		{"3 days", 72 * time.Hour, true},
		{"1h 30m", 90 * time.Minute, true},
		{"1h30m", 90 * time.Minute, true},
		{"1.5h", 90 * time.Minute, true},
		{"500ms", 500 * time.Millisecond, true},
		{"5 hours, 2 mins", 5*time.Hour + 2*time.Minute, true},
		{"P1DT2H", 26 * time.Hour, true},
		{"pt0.5s", 500 * time.Millisecond, true},
		{"P2W", 14 * 24 * time.Hour, true},
		{"0s", 0, true},
		{"soon", 0, false},
		{"", 0, false},
		{"5", 0, false},
		{"5 parsecs", 0, false},
		{"-1h", 0, false},
		{"P", 0, false},
		{"PT5X", 0, false},
		{"P1H", 0, false},
		{"999999999999d", 0, false},
	} {
		got, err := parseDuration(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}
