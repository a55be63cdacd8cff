//go:build linux

package proc

import (
	"context"
	"fmt"
	"time"
)

// WaitReady calls check every interval until it returns nil, one of the
// watched processes exits, ctx ends, or timeout passes. It never sleeps before
// the first check. The error names what ended the wait and holds check's last
// error.
func WaitReady(ctx context.Context, timeout, interval time.Duration, check func() error, watch ...*Proc) error {
	deadline := time.Now().Add(timeout)
	for {
		last := check()
		if last == nil {
			return nil
		}
		for _, p := range watch {
			if gone, err := p.Exited(); gone {
				return fmt.Errorf("%s exited before becoming ready (%v); last check: %w", p.Name, err, last)
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %v: %w", timeout, last)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(interval):
		}
	}
}
