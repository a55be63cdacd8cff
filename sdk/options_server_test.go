package sdk_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/resolute-run/resolute/runtime/ids"
	"github.com/resolute-run/resolute/runtime/invoker"
	"github.com/resolute-run/resolute/runtime/protocol"
	"github.com/resolute-run/resolute/runtime/server"
	"github.com/resolute-run/resolute/runtime/storage"
	"github.com/resolute-run/resolute/sdk"
)

// frameLog wraps an endpoint and records the type of every frame it writes to the runtime, so a
// test sees what the SDK sent through the real server (a GetLazyStateCommand, a Suspension).
type frameLog struct {
	h  http.Handler
	mu struct {
		sync.Mutex
		sent map[string][]protocol.MessageType // by invoked path
	}
}

func newFrameLog(h http.Handler) *frameLog {
	l := &frameLog{h: h}
	l.mu.sent = map[string][]protocol.MessageType{}
	return l
}

type teeWriter struct {
	http.ResponseWriter
	buf bytes.Buffer
}

func (w *teeWriter) Write(p []byte) (int, error) {
	w.buf.Write(p)
	return w.ResponseWriter.Write(p)
}

func (w *teeWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *teeWriter) Flush() { w.ResponseWriter.(http.Flusher).Flush() }

func (l *frameLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	tw := &teeWriter{ResponseWriter: w}
	l.h.ServeHTTP(tw, r)
	if !strings.Contains(r.URL.Path, "/invoke/") {
		return
	}
	rd := protocol.NewReader(&tw.buf)
	l.mu.Lock()
	defer l.mu.Unlock()
	p := r.URL.Path[strings.Index(r.URL.Path, "/invoke/")+len("/invoke/"):]
	for {
		f, err := rd.ReadFrame()
		if err != nil {
			return
		}
		l.mu.sent[p] = append(l.mu.sent[p], f.Type)
	}
}

// sent reports whether the endpoint ever wrote a frame of type mt for path (Service/handler).
func (l *frameLog) sent(path string, mt protocol.MessageType) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, t := range l.mu.sent[path] {
		if t == mt {
			return true
		}
	}
	return false
}

// optServer is a real server (log, storage, ingress) with ep registered in process, retrying
// failed attempts quickly, with stream timeouts of an hour.
func optServer(t *testing.T, ep http.Handler) *server.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := server.Start(ctx, server.Config{DataDir: t.TempDir(), IngressAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", Partitions: 2,
		Invoker: invoker.Config{Retry: invoker.RetryPolicy{InitialInterval: 10 * time.Millisecond, MaxInterval: 100 * time.Millisecond},
			// Long stream timeouts, so that only a handler's own options make them short.
			InactivityTimeout: time.Hour, AbortTimeout: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	if err := s.RegisterInProcess(ctx, "opts", ep); err != nil {
		t.Fatal(err)
	}
	return s
}

type ingressReply struct {
	status int
	body   string
	header http.Header
}

func post(t *testing.T, url, body string, headers ...string) ingressReply {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("content-type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return do(t, req)
}

func get(t *testing.T, url string) ingressReply {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) ingressReply {
	t.Helper()
	resp, err := (&http.Client{Timeout: time.Minute}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return ingressReply{resp.StatusCode, string(b), resp.Header}
}

// poll calls check until it returns "" or the minute is up (then it fails with check's last word).
func poll(t *testing.T, what string, check func() string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
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

// status reads an invocation's status in its partition's storage.
func status(t *testing.T, s *server.Server, id string) (storage.InvocationStatus, bool) {
	t.Helper()
	iid, err := ids.ParseInvocationID(id)
	if err != nil {
		t.Fatalf("invocation id %q: %v", id, err)
	}
	st, found, err := s.Node().Router().For(iid.PartitionKey).Status(iid)
	if err != nil {
		t.Fatal(err)
	}
	return st, found
}

// TestOptionsHonouredByServer: each option set at definition reaches the runtime through
// discovery and changes what the real server does, next to a handler without it.
func TestOptionsHonouredByServer(t *testing.T) {
	var runs sync.Map // handler name -> *atomic.Int32
	count := func(name string) int32 {
		c, _ := runs.LoadOrStore(name, new(atomic.Int32))
		return c.(*atomic.Int32).Add(1)
	}
	counted := func(name string) int32 {
		c, _ := runs.LoadOrStore(name, new(atomic.Int32))
		return c.(*atomic.Int32).Load()
	}
	runCount := func(name string) func(sdk.Context, sdk.Void) (int32, error) {
		return func(sdk.Context, sdk.Void) (int32, error) { return count(name), nil }
	}
	svc := sdk.NewService("Opt", sdk.WithDocumentation("Options, one per handler"), sdk.WithMetadata("team", "sdk")).
		Handler("shortIdem", sdk.ServiceHandler(runCount("shortIdem"), sdk.WithIdempotencyRetention(300*time.Millisecond))).
		Handler("longIdem", sdk.ServiceHandler(runCount("longIdem"))).
		Handler("shortJournal", sdk.ServiceHandler(runCount("shortJournal"), sdk.WithJournalRetention(200*time.Millisecond))).
		Handler("longJournal", sdk.ServiceHandler(runCount("longJournal"))).
		Handler("private", sdk.ServiceHandler(func(sdk.Context, sdk.Void) (string, error) { return "secret", nil }, sdk.WithIngressPrivate(true))).
		Handler("viaHandler", sdk.ServiceHandler(func(ctx sdk.Context, _ sdk.Void) (string, error) {
			return sdk.Call[string](ctx, sdk.ToService("Opt", "private"), nil)
		})).
		Handler("killed", sdk.ServiceHandler(func(sdk.Context, sdk.Void) (string, error) {
			return "", fmt.Errorf("attempt %d failed", count("killed"))
		}, sdk.WithInvocationRetryPolicy(sdk.WithMaxRetryAttempts(3), sdk.WithInitialRetryInterval(time.Millisecond), sdk.KillOnMaxAttempts())))
	nap := func(ctx sdk.Context, _ sdk.Void) (sdk.Void, error) { return sdk.Void{}, sdk.Sleep(ctx, time.Hour) }
	stuck := func(name string) func(sdk.Context, sdk.Void) (sdk.Void, error) {
		return func(ctx sdk.Context, _ sdk.Void) (sdk.Void, error) {
			_, err := sdk.Run(ctx, func(rc sdk.RunContext) (int32, error) {
				n := count(name)
				<-rc.Done() // until the runtime gives up on the attempt
				return n, nil
			})
			return sdk.Void{}, err
		}
	}
	svc.Handler("nap", sdk.ServiceHandler(nap, sdk.WithInactivityTimeout(100*time.Millisecond))).
		Handler("napDefault", sdk.ServiceHandler(nap)).
		Handler("stuck", sdk.ServiceHandler(stuck("stuck"), sdk.WithInactivityTimeout(50*time.Millisecond), sdk.WithAbortTimeout(50*time.Millisecond))).
		Handler("stuckDefault", sdk.ServiceHandler(stuck("stuckDefault")))
	read := func(ctx sdk.ObjectContext, _ sdk.Void) (string, error) { return sdk.Get[string](ctx, "v") }
	write := func(ctx sdk.ObjectContext, v string) (sdk.Void, error) { return sdk.Void{}, sdk.Set(ctx, "v", v) }
	lazy := sdk.NewObject("Lazy", sdk.WithEnableLazyState(true)).
		Handler("set", sdk.ObjectHandler(write)).Handler("get", sdk.ObjectHandler(read))
	eager := sdk.NewObject("Eager").Handler("set", sdk.ObjectHandler(write)).Handler("get", sdk.ObjectHandler(read))
	wf := sdk.NewWorkflow("Brief", sdk.WithWorkflowRetention(200*time.Millisecond)).
		Handler("run", sdk.WorkflowHandler(func(ctx sdk.WorkflowContext, in string) (string, error) { return "done " + in, nil }))
	frames := newFrameLog(sdk.NewEndpoint().Bind(svc, lazy, eager, wf))
	s := optServer(t, frames)
	in := s.IngressURL()

	t.Run("documentation and metadata", func(t *testing.T) {
		var svc struct {
			Documentation string            `json:"documentation"`
			Metadata      map[string]string `json:"metadata"`
		}
		r := get(t, s.AdminURL()+"/services/Opt")
		if err := json.Unmarshal([]byte(r.body), &svc); err != nil || svc.Documentation != "Options, one per handler" || svc.Metadata["team"] != "sdk" {
			t.Fatalf("admin GET /services/Opt: %d %s", r.status, r.body)
		}
	})

	t.Run("idempotency retention", func(t *testing.T) {
		for _, h := range []string{"shortIdem", "longIdem"} {
			if r := post(t, in+"/Opt/"+h, "", "idempotency-key", "k"); r.body != "1" {
				t.Fatalf("%s: first call %d %s", h, r.status, r.body)
			}
		}
		// Within the retention the same key answers the first result; after it, the request runs
		// anew. The long one (the runtime's default, a day) keeps answering the first result.
		poll(t, "shortIdem with the same key never ran again", func() string {
			if r := post(t, in+"/Opt/shortIdem", "", "idempotency-key", "k"); r.body != "2" {
				return r.body
			}
			return ""
		})
		if r := post(t, in+"/Opt/longIdem", "", "idempotency-key", "k"); r.body != "1" || counted("longIdem") != 1 {
			t.Fatalf("longIdem ran again (%s, %d runs) although its retention is a day", r.body, counted("longIdem"))
		}
	})

	t.Run("journal retention", func(t *testing.T) {
		ids := map[string]string{}
		for _, h := range []string{"shortJournal", "longJournal"} {
			// Idempotent, so the status outlives the journal (the idempotency retention is a day).
			r := post(t, in+"/Opt/"+h+"/send", "", "idempotency-key", "j")
			var acc struct {
				InvocationID string `json:"invocationId"`
			}
			if err := json.Unmarshal([]byte(r.body), &acc); err != nil || acc.InvocationID == "" {
				t.Fatalf("send %s: %d %s", h, r.status, r.body)
			}
			ids[h] = acc.InvocationID
			poll(t, h+" never completed", func() string {
				if r := get(t, in+"/restate/invocation/"+acc.InvocationID+"/output"); r.status != 200 {
					return fmt.Sprint(r.status, r.body)
				}
				return ""
			})
		}
		poll(t, "the journal of shortJournal was never dropped", func() string {
			st, found := status(t, s, ids["shortJournal"])
			if !found || st.Phase != storage.Completed || st.JournalLength != 0 {
				return fmt.Sprintf("found %v, phase %v, journal length %d", found, st.Phase, st.JournalLength)
			}
			return ""
		})
		if r := get(t, in+"/restate/invocation/"+ids["shortJournal"]+"/output"); r.status != 200 || r.body != "1" {
			t.Fatalf("output of shortJournal after its journal was dropped: %d %s", r.status, r.body)
		}
		if st, found := status(t, s, ids["longJournal"]); !found || st.JournalLength == 0 {
			t.Fatalf("longJournal lost its journal (found %v, length %d) although its retention is a day", found, st.JournalLength)
		}
	})

	t.Run("ingress private", func(t *testing.T) {
		if r := post(t, in+"/Opt/private", ""); r.status != http.StatusBadRequest {
			t.Fatalf("ingress called the private handler: %d %s", r.status, r.body)
		}
		if r := post(t, in+"/Opt/viaHandler", ""); r.status != 200 || r.body != `"secret"` {
			t.Fatalf("a handler calling the private one: %d %s", r.status, r.body)
		}
	})

	t.Run("lazy state", func(t *testing.T) {
		for _, obj := range []string{"Lazy", "Eager"} {
			if r := post(t, in+"/"+obj+"/a/set", `"x"`); r.status != 200 {
				t.Fatalf("%s set: %d %s", obj, r.status, r.body)
			}
			if r := post(t, in+"/"+obj+"/a/get", ""); r.body != `"x"` {
				t.Fatalf("%s get: %d %s", obj, r.status, r.body)
			}
		}
		if !frames.sent("Lazy/get", protocol.GetLazyStateCommandType) || frames.sent("Lazy/get", protocol.GetEagerStateCommandType) {
			t.Errorf("Lazy/get read its state without GetLazyState")
		}
		if !frames.sent("Eager/get", protocol.GetEagerStateCommandType) || frames.sent("Eager/get", protocol.GetLazyStateCommandType) {
			t.Errorf("Eager/get did not read the eager state")
		}
	})

	t.Run("retry policy kill after max attempts", func(t *testing.T) {
		r := post(t, in+"/Opt/killed", "")
		if r.status != 500 || !strings.Contains(r.body, "attempt 3 failed") {
			t.Fatalf("killed: %d %s, want the third attempt's failure", r.status, r.body)
		}
		if n := counted("killed"); n != 3 {
			t.Fatalf("killed ran %d attempts, want 3", n)
		}
	})

	t.Run("inactivity timeout", func(t *testing.T) {
		for _, h := range []string{"napDefault", "nap"} {
			if r := post(t, in+"/Opt/"+h+"/send", ""); r.status != 202 {
				t.Fatalf("send %s: %d %s", h, r.status, r.body)
			}
		}
		// The runtime closes the stream of a silent attempt after its inactivity timeout, and the
		// SDK suspends the sleeping handler.
		poll(t, "nap never suspended", func() string {
			if !frames.sent("Opt/nap", protocol.SuspensionType) {
				return "no Suspension sent"
			}
			return ""
		})
		if frames.sent("Opt/napDefault", protocol.SuspensionType) {
			t.Fatalf("napDefault suspended too, with the runtime's hour of inactivity")
		}
	})

	t.Run("abort timeout", func(t *testing.T) {
		for _, h := range []string{"stuckDefault", "stuck"} {
			if r := post(t, in+"/Opt/"+h+"/send", ""); r.status != 202 {
				t.Fatalf("send %s: %d %s", h, r.status, r.body)
			}
		}
		// A Run that does not end keeps the attempt from suspending; after the inactivity and
		// abort timeouts the runtime aborts the attempt and retries, running the Run again.
		poll(t, "stuckDefault never started", func() string {
			if n := counted("stuckDefault"); n != 1 {
				return fmt.Sprintf("%d runs", n)
			}
			return ""
		})
		poll(t, "stuck was never aborted and retried", func() string {
			if n := counted("stuck"); n < 2 {
				return fmt.Sprintf("%d runs", n)
			}
			return ""
		})
		if n := counted("stuckDefault"); n != 1 {
			t.Fatalf("stuckDefault ran %d times, with the runtime's hour of abort timeout", n)
		}
	})

	t.Run("workflow retention", func(t *testing.T) {
		if r := post(t, in+"/Brief/w/run", `"a"`); r.body != `"done a"` {
			t.Fatalf("run: %d %s", r.status, r.body)
		}
		// Within the retention a second submission attaches to the first; after it, the
		// workflow key is free and runs anew.
		poll(t, "the workflow's result never expired", func() string {
			if r := post(t, in+"/Brief/w/run", `"b"`); r.body != `"done b"` {
				return r.body
			}
			return ""
		})
	})
}

func must(t *testing.T, method, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}
