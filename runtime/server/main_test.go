package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/resolute-run/resolute/runtime/server"
)

// The child process of TestSleepSurvivesKill: this test binary with sleepChildDirEnv set runs a
// server on that data directory, sends a sleep of sleepChildMsEnv milliseconds, prints a
// childReport line once the Sleep is journaled, and waits to be killed.
const (
	sleepChildDirEnv = "RESOLUTE_SLEEP_CHILD_DIR"
	sleepChildMsEnv  = "RESOLUTE_SLEEP_CHILD_MS"
)

// childReport is the child's one line on stdout.
type childReport struct {
	ID     string `json:"id,omitempty"`
	Wake   uint64 `json:"wake,omitempty"`
	Before int    `json:"before"`
	Error  string `json:"error,omitempty"`
}

func TestMain(m *testing.M) {
	if dir := os.Getenv(sleepChildDirEnv); dir != "" {
		r, err := sleepChild(dir, os.Getenv(sleepChildMsEnv))
		if err != nil {
			r.Error = err.Error()
		}
		b, _ := json.Marshal(r)
		fmt.Println(string(b))
		if err != nil {
			os.Exit(1)
		}
		select {} // until killed
	}
	os.Exit(m.Run())
}

func sleepChild(dir, ms string) (childReport, error) {
	n, err := strconv.Atoi(ms)
	if err != nil {
		return childReport{}, fmt.Errorf("%s=%q: %w", sleepChildMsEnv, ms, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := server.Start(ctx, server.Config{DataDir: dir, IngressAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", Partitions: 2})
	if err != nil {
		return childReport{}, err
	}
	naps := newNapLog()
	if err := s.RegisterInProcess(ctx, "nap", naps.endpoint()); err != nil {
		return childReport{}, err
	}
	id, wake, err := sleepJournaled(s, time.Duration(n)*time.Millisecond)
	if err != nil {
		return childReport{}, err
	}
	_, before, _ := naps.get(id.String())
	return childReport{ID: id.String(), Wake: wake, Before: before}, nil
}
