//go:build linux

package chaos

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// A process that exits before it is ready is reported with the end of its
// log, and one that could not bind a port is marked so that startSystem
// starts again on new ports.
func TestWaitReadyReportsExit(t *testing.T) {
	for _, tc := range []struct {
		name, stderr string
		portTaken    bool
	}{
		{"bind", "Error: server: ingress listen on 127.0.0.1:1: listen tcp 127.0.0.1:1: bind: address already in use", true},
		{"other", "Error: server: open data dir: permission denied", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svc := &service{name: "fake", bin: "/bin/sh", logDir: t.TempDir(),
				args:  []string{"-c", "echo '" + tc.stderr + "' >&2; exit 1"},
				ready: func(context.Context) error { return errors.New("not yet") }}
			if err := svc.launch(); err != nil {
				t.Fatal(err)
			}
			err := svc.waitReady(context.Background(), 10*time.Second)
			if err == nil {
				t.Fatal("waitReady succeeded for a process that exited")
			}
			if !strings.Contains(err.Error(), tc.stderr) {
				t.Errorf("error does not hold the log's end %q: %v", tc.stderr, err)
			}
			if got := errors.Is(err, errPortTaken); got != tc.portTaken {
				t.Errorf("errors.Is(err, errPortTaken) = %v, want %v: %v", got, tc.portTaken, err)
			}
		})
	}
}
