package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/resolute-run/resolute/internal/proc"
)

// controlClient talks to admin, health and control endpoints.
var controlClient = &http.Client{Timeout: 10 * time.Second}

// expectGet GETs url and fails unless the status is 200.
func expectGet(url string) error {
	return proc.ExpectStatus(context.Background(), controlClient, url, http.StatusOK)
}

// waitReady polls check every 20 ms until it succeeds, p exits (the error
// then holds the tail of p's log), or timeout passes.
func waitReady(what string, timeout time.Duration, p *proc.Proc, check func() error) error {
	err := proc.WaitReady(context.Background(), timeout, 20*time.Millisecond, check, p)
	if err == nil {
		return nil
	}
	if gone, _ := p.Exited(); gone {
		return fmt.Errorf("%s: %w; log tail:\n%s", what, err, logTail(p))
	}
	return fmt.Errorf("%s: %w", what, err)
}

// logTail returns the last 4 KiB of p's log, or why it cannot be read.
func logTail(p *proc.Proc) string {
	b, err := p.LogTail(4096)
	if err != nil {
		return err.Error()
	}
	return string(b)
}
