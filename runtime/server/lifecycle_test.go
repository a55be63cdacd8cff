package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/resolute-run/resolute/sdk"
)

// jobs is a Virtual Object whose work waits an hour: a cancellation reaches it as a terminal error
// at that await, and it compensates (state "compensated") before failing; parent calls the work
// of key "<key>-child" and waits for it.
func jobs() *sdk.Endpoint {
	obj := sdk.NewObject("Job").
		Handler("work", sdk.ObjectHandler(func(ctx sdk.ObjectContext, _ sdk.Void) (string, error) {
			if err := sdk.Set(ctx, "started", true); err != nil {
				return "", err
			}
			if err := sdk.Sleep(ctx, time.Hour); err != nil {
				if sdk.ErrorCode(err) == 409 {
					return "", lcJoin(sdk.Set(ctx, "compensated", true), err)
				}
				return "", err
			}
			return "slept", nil
		})).
		Handler("parent", sdk.ObjectHandler(func(ctx sdk.ObjectContext, _ sdk.Void) (string, error) {
			return sdk.Call[string](ctx, sdk.ToObject("Job", ctx.Key()+"-child", "work"), nil)
		})).
		Handler("quick", sdk.ObjectHandler(func(ctx sdk.ObjectContext, _ sdk.Void) (string, error) {
			return "quick", nil
		})).
		Handler("flags", sdk.SharedHandler(func(ctx sdk.ObjectSharedContext, _ sdk.Void) (string, error) {
			started, err := sdk.Get[bool](ctx, "started")
			if err != nil {
				return "", err
			}
			compensated, err := sdk.Get[bool](ctx, "compensated")
			return lcWord(started, "started") + " " + lcWord(compensated, "compensated"), err
		}))
	return sdk.NewEndpoint().Bind(obj)
}

func lcWord(b bool, w string) string {
	if b {
		return w
	}
	return "not-" + w
}

// errorsJoin returns err unless first failed.
func lcJoin(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

type lcReply struct {
	status int
	body   string
}

func lcDo(t *testing.T, method, url, body string) lcReply {
	t.Helper()
	r, err := lcRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// lcRequest is lcDo for goroutines other than the test's: the error is the caller's to report.
func lcRequest(method, url, body string) (lcReply, error) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return lcReply{}, err
	}
	if body != "" {
		req.Header.Set("content-type", "application/json")
	}
	// The timeout only stops a request that would wait for ever (a child that was not killed).
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return lcReply{}, fmt.Errorf("%s %s: %w", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return lcReply{resp.StatusCode, string(b)}, nil
}

func lcExpect(t *testing.T, what string, r lcReply, status int, contains string) {
	t.Helper()
	if r.status != status || !strings.Contains(r.body, contains) {
		t.Fatalf("%s: %d %s, want %d containing %q", what, r.status, r.body, status, contains)
	}
}

// sendID sends path one way and returns the invocation id.
func lcSend(t *testing.T, base, path string) string {
	t.Helper()
	r := lcDo(t, "POST", base+path, "")
	var out struct {
		InvocationID string `json:"invocationId"`
	}
	if err := json.Unmarshal([]byte(r.body), &out); r.status != 202 || err != nil || out.InvocationID == "" {
		t.Fatalf("send %s: %d %s", path, r.status, r.body)
	}
	return out.InvocationID
}

// waitFor polls check until it returns "" (or the context ends).
func lcWait(t *testing.T, ctx context.Context, what string, check func() string) {
	t.Helper()
	for {
		last := check()
		if last == "" {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: %s", what, last)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// TestCancelKillPurge: the admin API's invocation operations through the real server, ingress,
// log and SDK, with restate-server's status codes and messages.
func TestCancelKillPurge(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s := startWith(t, t.TempDir(), jobs())
	in, admin := s.IngressURL(), s.AdminURL()
	flags := func(key string) string { return lcDo(t, "POST", in+"/Job/"+key+"/flags", "").body }

	running := lcSend(t, in, "/Job/a/work/send")
	lcWait(t, ctx, "Job/a started", func() string {
		if f := flags("a"); f != `"started not-compensated"` {
			return f
		}
		return ""
	})
	inboxed := lcSend(t, in, "/Job/a/work/send")
	scheduled := lcSend(t, in, "/Job/a/quick/send?delay=1h")

	// Not started yet: removed at once (200), nothing of it kept, as restate-server.
	lcExpect(t, "cancel inboxed", lcDo(t, "PATCH", admin+"/invocations/"+inboxed+"/cancel", ""), 200, "")
	lcExpect(t, "output of the cancelled inboxed", lcDo(t, "GET", in+"/restate/invocation/"+inboxed+"/output", ""), 404, "")
	lcExpect(t, "kill scheduled", lcDo(t, "PATCH", admin+"/invocations/"+scheduled+"/kill", ""), 200, "")
	lcExpect(t, "output of the killed scheduled", lcDo(t, "GET", in+"/restate/invocation/"+scheduled+"/output", ""), 404, "")

	// Running: the cancellation is journaled (202); the handler compensates and fails with 409.
	lcExpect(t, "cancel running", lcDo(t, "PATCH", admin+"/invocations/"+running+"/cancel", ""), 202, "")
	lcExpect(t, "attach to the cancelled", lcDo(t, "GET", in+"/restate/invocation/"+running+"/attach", ""), 409, "")
	if f := flags("a"); f != `"started compensated"` {
		t.Fatalf("after the cancellation: %s, want the compensation's state", f)
	}
	lcExpect(t, "cancel again", lcDo(t, "PATCH", admin+"/invocations/"+running+"/cancel", ""), 409, "The invocation '"+running+"' was already completed.")

	// Kill: the parent and the call it waits on; the child's key is free again.
	parent := lcSend(t, in, "/Job/p/parent/send")
	lcWait(t, ctx, "Job/p-child started", func() string {
		if f := flags("p-child"); f != `"started not-compensated"` {
			return f
		}
		return ""
	})
	lcExpect(t, "kill parent", lcDo(t, "PATCH", admin+"/invocations/"+parent+"/kill", ""), 200, "")
	lcExpect(t, "attach to the killed", lcDo(t, "GET", in+"/restate/invocation/"+parent+"/attach", ""), 409, "killed")
	lcExpect(t, "the killed child's key runs again", lcDo(t, "POST", in+"/Job/p-child/quick", ""), 200, `"quick"`)
	if f := flags("p-child"); f != `"started not-compensated"` {
		t.Fatalf("the killed child compensated: %s", f)
	}

	// Purge: only ended invocations.
	late := lcSend(t, in, "/Job/b/work/send")
	lcExpect(t, "purge running", lcDo(t, "PATCH", admin+"/invocations/"+late+"/purge", ""), 409, "The invocation '"+late+"' is not yet completed.")
	lcExpect(t, "purge-journal", lcDo(t, "PATCH", admin+"/invocations/"+running+"/purge-journal", ""), 200, "")
	lcExpect(t, "output after purge-journal", lcDo(t, "GET", in+"/restate/invocation/"+running+"/output", ""), 409, "")
	lcExpect(t, "purge", lcDo(t, "PATCH", admin+"/invocations/"+running+"/purge", ""), 200, "")
	lcExpect(t, "output after purge", lcDo(t, "GET", in+"/restate/invocation/"+running+"/output", ""), 404, "")

	// Unknown and malformed ids; the older DELETE form.
	lcExpect(t, "cancel unknown", lcDo(t, "PATCH", admin+"/invocations/"+inboxed+"/cancel", ""), 404, "The requested invocation '"+inboxed+"' does not exist")
	lcExpect(t, "kill malformed", lcDo(t, "PATCH", admin+"/invocations/bogus/kill", ""), 400, "The request field 'invocation_id' is invalid. Reason: bad format")
	lcExpect(t, "delete bad mode", lcDo(t, "DELETE", admin+"/invocations/"+late+"?mode=bogus", ""), 400, "unknown variant `bogus`")
	lcExpect(t, "delete kill", lcDo(t, "DELETE", admin+"/invocations/"+late+"?mode=kill", ""), 202, "")
	lcExpect(t, "attach to the deleted", lcDo(t, "GET", in+"/restate/invocation/"+late+"/attach", ""), 409, "killed")
}

// counters is a Virtual Object with add (exclusive) and get (shared) over the state "count", and
// hold, which keeps the key's lock until its awakeable is resolved.
func counters() *sdk.Endpoint {
	obj := sdk.NewObject("Counter").
		Handler("add", sdk.ObjectHandler(func(ctx sdk.ObjectContext, n int) (int, error) {
			c, err := sdk.Get[int](ctx, "count")
			if err != nil {
				return 0, err
			}
			return c + n, sdk.Set(ctx, "count", c+n)
		})).
		Handler("get", sdk.SharedHandler(func(ctx sdk.ObjectSharedContext, _ sdk.Void) (int, error) {
			return sdk.Get[int](ctx, "count")
		})).
		Handler("hold", sdk.ObjectHandler(func(ctx sdk.ObjectContext, _ sdk.Void) (string, error) {
			a := sdk.Awakeable[string](ctx)
			if err := sdk.Set(ctx, "awakeable", a.ID()); err != nil {
				return "", err
			}
			return a.Result()
		})).
		Handler("awakeable", sdk.SharedHandler(func(ctx sdk.ObjectSharedContext, _ sdk.Void) (string, error) {
			return sdk.Get[string](ctx, "awakeable")
		}))
	return sdk.NewEndpoint().Bind(obj)
}

// TestStatePatch: POST /services/{name}/state replaces a key's state through the log (202), in
// the key's lock order; GET /services/{name}/state/{key} reads it with its version; a stale
// version is refused (409); bad requests get 400 and unknown services 404.
func TestStatePatch(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s := startWith(t, t.TempDir(), counters())
	in, admin := s.IngressURL(), s.AdminURL()
	lcExpect(t, "add", lcDo(t, "POST", in+"/Counter/a/add", "5"), 200, "5")

	var st struct {
		Version string           `json:"version"`
		State   map[string][]int `json:"state"`
	}
	read := func() {
		r := lcDo(t, "GET", admin+"/services/Counter/state/a", "")
		if err := json.Unmarshal([]byte(r.body), &st); r.status != 200 || err != nil {
			t.Fatalf("get state: %d %s %v", r.status, r.body, err)
		}
	}
	read()
	if string(bytesOf(st.State["count"])) != "5" || st.Version == "" {
		t.Fatalf("state %+v, want count 5 and a version", st)
	}
	// A patch with the current version applies; the handler reads the patched state.
	body := `{"object_key":"a","new_state":{"count":[52,48]},"version":"` + st.Version + `"}`
	lcExpect(t, "patch", lcDo(t, "POST", admin+"/services/Counter/state", body), 202, "")
	lcExpect(t, "add after patch", lcDo(t, "POST", in+"/Counter/a/add", "2"), 200, "42")
	// The old version no longer matches.
	lcExpect(t, "stale version", lcDo(t, "POST", admin+"/services/Counter/state", body), 409, "not at version")

	// A patch of a held key waits for the holder, and runs before a call queued after it.
	hold := make(chan lcReply, 1)
	go func() { hold <- lcAsync("POST", in+"/Counter/b/hold", "") }()
	var awakeable string
	lcWait(t, ctx, "Counter/b holds its key", func() string {
		r := lcDo(t, "POST", in+"/Counter/b/awakeable", "")
		if err := json.Unmarshal([]byte(r.body), &awakeable); err != nil || awakeable == "" {
			return r.body
		}
		return ""
	})
	lcExpect(t, "patch of a held key", lcDo(t, "POST", admin+"/services/Counter/state", `{"object_key":"b","new_state":{"count":[55]}}`), 202, "") // "7"
	// The patch is in the log (its 202 came after it was applied): the add queues behind it.
	added := make(chan lcReply, 1)
	go func() { added <- lcAsync("POST", in+"/Counter/b/add", "1") }()
	if r := lcDo(t, "POST", in+"/Counter/b/get", ""); r.body != "0" {
		t.Fatalf("the patch of a held key applied before the holder ended: count %s", r.body)
	}
	lcExpect(t, "resolve", lcDo(t, "POST", in+"/restate/awakeables/"+awakeable+"/resolve", `"done"`), 202, "")
	lcExpect(t, "hold", <-hold, 200, `"done"`)
	lcExpect(t, "add after the patch", <-added, 200, "8")

	lcExpect(t, "unknown service", lcDo(t, "POST", admin+"/services/Nope/state", `{"object_key":"a","new_state":{}}`), 404, "Nope")
	lcExpect(t, "missing key", lcDo(t, "POST", admin+"/services/Counter/state", `{"new_state":{}}`), 400, "object_key")
	lcExpect(t, "not a byte", lcDo(t, "POST", admin+"/services/Counter/state", `{"object_key":"a","new_state":{"x":[300]}}`), 400, "not a byte")
}

// lcAsync is lcRequest whose failure becomes the reply (status 0, the error as body), for the
// test goroutine to report.
func lcAsync(method, url, body string) lcReply {
	r, err := lcRequest(method, url, body)
	if err != nil {
		return lcReply{0, err.Error()}
	}
	return r
}

func bytesOf(vals []int) []byte {
	out := make([]byte, len(vals))
	for i, v := range vals {
		out[i] = byte(v)
	}
	return out
}

// TestRestartAsNew: PATCH /invocations/{id}/restart-as-new through the real server: a new
// invocation of an ended one runs again from its input (200 with its id), and restate-server's
// answers for a running one (409), an index past the journal (400), a purged journal (410) and an
// unknown one (404).
func TestRestartAsNew(t *testing.T) {
	s := startWith(t, t.TempDir(), jobs())
	in, admin := s.IngressURL(), s.AdminURL()
	first := lcSend(t, in, "/Job/r/quick/send")
	lcExpect(t, "first run", lcDo(t, "GET", in+"/restate/invocation/"+first+"/attach", ""), 200, `"quick"`)

	r := lcDo(t, "PATCH", admin+"/invocations/"+first+"/restart-as-new", "")
	var out struct {
		NewInvocationID string `json:"new_invocation_id"`
	}
	if err := json.Unmarshal([]byte(r.body), &out); r.status != 200 || err != nil || out.NewInvocationID == "" || out.NewInvocationID == first {
		t.Fatalf("restart-as-new: %d %s", r.status, r.body)
	}
	lcExpect(t, "the restarted run", lcDo(t, "GET", in+"/restate/invocation/"+out.NewInvocationID+"/attach", ""), 200, `"quick"`)

	running := lcSend(t, in, "/Job/w/work/send")
	lcExpect(t, "restart a running one", lcDo(t, "PATCH", admin+"/invocations/"+running+"/restart-as-new", ""), 409, "is still running")
	lcExpect(t, "restart past the journal", lcDo(t, "PATCH", admin+"/invocations/"+first+"/restart-as-new?from=99", ""), 400, "out of range")
	lcExpect(t, "bad from", lcDo(t, "PATCH", admin+"/invocations/"+first+"/restart-as-new?from=x", ""), 400, "from")
	lcExpect(t, "purge the journal", lcDo(t, "PATCH", admin+"/invocations/"+first+"/purge-journal", ""), 200, "")
	lcExpect(t, "restart without a journal", lcDo(t, "PATCH", admin+"/invocations/"+first+"/restart-as-new", ""), 410, "input is not available")
	lcExpect(t, "purge", lcDo(t, "PATCH", admin+"/invocations/"+first+"/purge", ""), 200, "")
	lcExpect(t, "restart unknown", lcDo(t, "PATCH", admin+"/invocations/"+first+"/restart-as-new", ""), 404, "does not exist")
}
