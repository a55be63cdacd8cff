package admin_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/resolute-run/resolute/runtime/admin"
	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/ids"
	"github.com/resolute-run/resolute/runtime/statemachine"
	"github.com/resolute-run/resolute/runtime/storage"
)

// refusingPartitions refuses every operation the way the partition router's admission control
// does (actors/partition.RefusedError's methods).
type refusingPartitions struct{ err error }

type refusal struct {
	unavailable bool
	after       time.Duration
}

func (r refusal) Error() string             { return "partition 3 refused: test" }
func (r refusal) RetryAfter() time.Duration { return r.after }
func (r refusal) Unavailable() bool         { return r.unavailable }
func (p refusingPartitions) fail() (statemachine.Outcome, error) {
	return statemachine.Outcome{}, p.err
}

func (p refusingPartitions) Terminate(context.Context, ids.InvocationID, bool) (statemachine.Outcome, error) {
	return p.fail()
}
func (p refusingPartitions) Purge(context.Context, ids.InvocationID, bool) (statemachine.Outcome, error) {
	return p.fail()
}
func (p refusingPartitions) Pause(context.Context, ids.InvocationID) (statemachine.Outcome, error) {
	return p.fail()
}
func (p refusingPartitions) Resume(context.Context, ids.InvocationID, *command.Repin) (statemachine.Outcome, error) {
	return p.fail()
}
func (p refusingPartitions) RestartAsNew(context.Context, ids.InvocationID, uint32, *command.Repin, bool) (statemachine.Outcome, ids.InvocationID, error) {
	o, err := p.fail()
	return o, ids.InvocationID{}, err
}
func (p refusingPartitions) Status(context.Context, ids.InvocationID) (storage.InvocationStatus, bool, error) {
	return storage.InvocationStatus{}, false, p.err
}

// TestOperationsRefusedWithRetryAfter: an operation the partition refused before writing
// anything is answered as the ingress answers a refused call: 429 when it is busy, 503 when it
// cannot run, with Retry-After in whole seconds, on every invocation route (the older DELETE
// included, where restate-server answers a bare 500).
func TestOperationsRefusedWithRetryAfter(t *testing.T) {
	id := ids.NewInvocationID(3, [16]byte{7}).String()
	for _, tt := range []struct {
		name       string
		refusal    refusal
		status     int
		retryAfter string
	}{
		{"busy", refusal{after: 1500 * time.Millisecond}, 429, "2"},
		{"cannot run", refusal{unavailable: true, after: 100 * time.Millisecond}, 503, "1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := admin.New(admin.Config{}, admin.Deps{Invocations: refusingPartitions{err: tt.refusal}})
			srv := httptest.NewServer(h)
			defer srv.Close()
			for _, route := range []struct{ method, path string }{
				{"PATCH", "/invocations/" + id + "/cancel"},
				{"PATCH", "/invocations/" + id + "/kill"},
				{"PATCH", "/invocations/" + id + "/purge"},
				{"PATCH", "/invocations/" + id + "/pause"},
				{"PATCH", "/invocations/" + id + "/resume"},
				{"PATCH", "/invocations/" + id + "/restart-as-new?deployment=keep"},
				{"DELETE", "/invocations/" + id + "?mode=kill"},
			} {
				req, _ := http.NewRequest(route.method, srv.URL+route.path, nil)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != tt.status || resp.Header.Get("Retry-After") != tt.retryAfter || !strings.Contains(string(body), "can be retried as it is") {
					t.Errorf("%s %s: %d Retry-After %q %s; want %d Retry-After %s", route.method, route.path, resp.StatusCode, resp.Header.Get("Retry-After"), body, tt.status, tt.retryAfter)
				}
			}
		})
	}
}
