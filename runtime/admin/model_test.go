package admin

import (
	"testing"
	"time"
)

func TestFormatDuration(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"}, {500 * time.Millisecond, "500ms"}, {time.Minute, "1m"}, {10 * time.Minute, "10m"},
		{24 * time.Hour, "1d"}, {90 * time.Minute, "1h 30m"}, {time.Second + 5*time.Millisecond, "1s 5ms"}, {time.Microsecond, "0s"},
	} {
		if got := formatDuration(tt.d); got != tt.want {
			t.Errorf("formatDuration(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}
