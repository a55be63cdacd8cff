package invoker

import (
	"context"
	"encoding/binary"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/ids"
	"github.com/resolute-run/resolute/runtime/protocol"
	"github.com/resolute-run/resolute/runtime/storage"
	"github.com/resolute-run/resolute/runtime/transport"
)

// records keeps the log records of one test, by level and message.
type records struct {
	mu   sync.Mutex
	list []slog.Record
}

func (r *records) Enabled(context.Context, slog.Level) bool { return true }
func (r *records) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *records) WithGroup(string) slog.Handler            { return r }
func (r *records) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.list = append(r.list, rec.Clone())
	return nil
}

func (r *records) count(level slog.Level, msg string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, rec := range r.list {
		if rec.Level == level && rec.Message == msg {
			n++
		}
	}
	return n
}

func (r *records) find(level slog.Level, msg string) (slog.Record, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rec := range r.list {
		if rec.Level == level && rec.Message == msg {
			return rec, true
		}
	}
	return slog.Record{}, false
}

// runningPartition has every invocation running with only its input journaled.
type runningPartition struct{}

func (runningPartition) Propose(command.Command) <-chan error {
	ch := make(chan error, 1)
	ch <- nil
	return ch
}

func (runningPartition) Snapshot(id ids.InvocationID) (Snapshot, error) {
	return Snapshot{
		Status: storage.InvocationStatus{Phase: storage.Running, CommandCount: 1, JournalLength: 1,
			Invocation: command.Invocation{ID: id, Target: command.Target{Service: "Dead", Handler: "run", ServiceType: command.Service}}},
		Journal: []command.Entry{{Type: uint16(protocol.InputCommandType)}},
	}, nil
}

type deadResolver struct{ uri string }

func (r deadResolver) Deployment(string) (Deployment, error) {
	return Deployment{URI: r.uri, MinProtocol: 5, MaxProtocol: 7}, nil
}
func (r deadResolver) DeploymentByID(ids.DeploymentID) (Deployment, error) { return r.Deployment("") }
func (deadResolver) ResolveCall(string, string) (command.CallResolution, error) {
	return command.CallResolution{}, nil
}
func (deadResolver) Overrides(string, string) Overrides { return Overrides{} }

// TestDeadDeploymentLogsOneLinePerInterval: many invocations retrying against a deployment that
// refuses connections give one warning when the failures start and one summary per interval,
// not a line per attempt.
func TestDeadDeploymentLogsOneLinePerInterval(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	uri := "http://" + ln.Addr().String() + "/"
	ln.Close() // nothing listens there any more
	attemptFailures.setInterval(time.Hour)
	defer attemptFailures.setInterval(DefaultFailureLogInterval)

	logs := &records{}
	inv := New(Config{Logger: slog.New(logs), Retry: RetryPolicy{InitialInterval: time.Millisecond, MaxInterval: 5 * time.Millisecond, MaxAttempts: -1}},
		deadResolver{uri: uri}, transport.NewClient(transport.Config{}))
	defer inv.Close()
	const invocations, perInvocation = 20, 5
	for i := 0; i < invocations; i++ {
		var e [16]byte
		binary.BigEndian.PutUint64(e[:], uint64(i+1))
		inv.Start(runningPartition{}, ids.NewInvocationID(ids.PartitionKey(i), e))
	}
	for deadline := time.Now().Add(time.Minute); logs.count(slog.LevelDebug, "invocation attempt failed") < invocations*perInvocation; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("only %d failed attempts", logs.count(slog.LevelDebug, "invocation attempt failed"))
		}
	}
	if n := logs.count(slog.LevelWarn, "invocation attempt failed"); n != 1 {
		t.Errorf("%d warnings for failed attempts against one deployment within an interval, want 1", n)
	}
	// The interval ends: the next failure logs the summary of the ones counted.
	attemptFailures.setInterval(time.Nanosecond)
	var summary slog.Record
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(5 * time.Millisecond) {
		var ok bool
		if summary, ok = logs.find(slog.LevelWarn, "invocation attempts failed against deployment"); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no summary after the interval ended")
		}
	}
	summary.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "deployment":
			if a.Value.String() != uri {
				t.Errorf("summary names deployment %q, want %q", a.Value.String(), uri)
			}
		case "attempts":
			if a.Value.Int64() < invocations*perInvocation-1 {
				t.Errorf("summary counts %d attempts, want at least %d", a.Value.Int64(), invocations*perInvocation-1)
			}
		case "invocations":
			if a.Value.Int64() != invocations {
				t.Errorf("summary counts %d invocations, want %d", a.Value.Int64(), invocations)
			}
		}
		return true
	})
}
