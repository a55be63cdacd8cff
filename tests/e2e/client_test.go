//go:build linux

package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/resolute-run/resolute/tests/testenv"
)

// The ingress client of the ported scenarios: what upstream's dev.restate.client (Kotlin) and
// @restatedev/restate-sdk-clients (vitest) do, as plain HTTP on the public ingress and admin
// APIs. Methods returning a reply are safe from any goroutine; those taking a *testing.T fail it.

// reply is one HTTP answer, or the error that prevented it.
type reply struct {
	status int
	header http.Header
	body   []byte
	err    error
}

func (r reply) String() string {
	if r.err != nil {
		return r.err.Error()
	}
	return fmt.Sprintf("status %d, body %s", r.status, r.body)
}

// ok fails the test unless the request succeeded with a 2xx status, and returns the body.
func (r reply) ok(t *testing.T) []byte {
	t.Helper()
	if r.err != nil || r.status < 200 || r.status > 299 {
		t.Fatalf("want success, got %v", r)
	}
	return r.body
}

// value fails the test unless the request succeeded, and decodes the JSON body into v.
func (r reply) value(t *testing.T, v any) {
	t.Helper()
	body := r.ok(t)
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
}

// str is the JSON string the request answered.
func (r reply) str(t *testing.T) string {
	t.Helper()
	var s string
	r.value(t, &s)
	return s
}

// failure fails the test unless the server answered an error status (>= 400, as the clients
// turn into an exception), and returns the error's message (the body when it is not Restate's
// {"message": …} error object).
func (r reply) failure(t *testing.T) string {
	t.Helper()
	if r.err != nil || r.status < 400 {
		t.Fatalf("want an error answer, got %v", r)
	}
	var e struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(r.body, &e) == nil && e.Message != "" {
		return e.Message
	}
	return string(r.body)
}

// option changes a request.
type option func(*http.Request)

// idempotent sets a fresh idempotency key, as upstream's idempotentCallOptions.
func idempotent() option {
	key := newUUID()
	return func(r *http.Request) { r.Header.Set("idempotency-key", key) }
}

// call POSTs in, JSON-encoded, to the ingress path and waits for the answer.
func (d *deployment) call(path string, in any, opts ...option) reply {
	return d.do(context.Background(), http.MethodPost, d.ingress+path, in, opts...)
}

// callWithin is call that gives up after timeout (upstream's withTimeout around a call).
func (d *deployment) callWithin(timeout time.Duration, path string, in any, opts ...option) reply {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return d.do(ctx, http.MethodPost, d.ingress+path, in, opts...)
}

// sent is the ingress's answer to a one-way send.
type sent struct {
	InvocationID string `json:"invocationId"`
	Status       string `json:"status"` // Accepted or PreviouslyAccepted
}

// send POSTs in to path + "/send" and returns the invocation it started (or found).
func (d *deployment) send(t *testing.T, path string, in any, opts ...option) sent {
	t.Helper()
	var s sent
	d.call(path+"/send", in, opts...).value(t, &s)
	if s.InvocationID == "" {
		t.Fatalf("send %s: no invocationId in the answer", path)
	}
	return s
}

// attach waits for the invocation's result (GET /restate/invocation/{id}/attach).
func (d *deployment) attach(id string) reply {
	return d.get(d.ingress + "/restate/invocation/" + id + "/attach")
}

// result is upstream's attachSuspend() (Kotlin) and ingress.result(send) (vitest): it waits
// for the sent invocation's result through attach.
func (d *deployment) result(s sent) reply { return d.attach(s.InvocationID) }

// workflowAttach and workflowOutput are the workflow handle's attach and getOutput.
func (d *deployment) workflowAttach(name, key string) reply {
	return d.get(d.ingress + "/restate/workflow/" + name + "/" + key + "/attach")
}

func (d *deployment) workflowOutput(name, key string) reply {
	return d.get(d.ingress + "/restate/workflow/" + name + "/" + key + "/output")
}

// adminPatch is a PATCH on the admin API (e.g. /invocations/{id}/kill).
func (d *deployment) adminPatch(path string) reply {
	return d.do(context.Background(), http.MethodPatch, d.admin+path, nil)
}

// adminPost is a POST of in, JSON-encoded, on the admin API (e.g. /services/{name}/state).
func (d *deployment) adminPost(path string, in any) reply {
	return d.do(context.Background(), http.MethodPost, d.admin+path, in)
}

// adminPatchJSON is a PATCH with a JSON body on the admin API (e.g. /services/{name}).
func (d *deployment) adminPatchJSON(path string, in any) reply {
	return d.do(context.Background(), http.MethodPatch, d.admin+path, in)
}

func (d *deployment) get(url string) reply {
	return d.do(context.Background(), http.MethodGet, url, nil)
}

func (d *deployment) do(ctx context.Context, method, url string, in any, opts ...option) reply {
	var body io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return reply{err: fmt.Errorf("encode %v: %w", in, err)}
		}
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return reply{err: err}
	}
	if in != nil {
		req.Header.Set("content-type", "application/json")
	}
	for _, o := range opts {
		o(req)
	}
	resp, err := testenv.HTTPClient.Do(req)
	if err != nil {
		return reply{err: fmt.Errorf("%s %s: %w", method, url, err)}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{err: fmt.Errorf("%s %s: read body: %w", method, url, err)}
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: data}
}

// eventuallyTimeout bounds upstream's awaitility waits. It is a bound on a failure, not a
// timing target: awaitility's default is 10 s, and a loaded 2-core machine gets more.
const eventuallyTimeout = 30 * time.Second

// eventually polls check every 100 ms (awaitility's interval) until it returns nil, failing the
// test with alias and the last error after eventuallyTimeout.
func eventually(t *testing.T, alias string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(eventuallyTimeout)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still failing after %v: %v", alias, eventuallyTimeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// newUUID is a random (version 4) UUID, as upstream's UUID.randomUUID().
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
