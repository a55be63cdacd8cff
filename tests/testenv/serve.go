package testenv

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"testing"
)

// ServeH2C serves h (an SDK endpoint's Handler, which speaks h2c) on a loopback port until the
// test ends, and returns its URL.
func ServeH2C(t testing.TB, h http.Handler) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: h}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = hs.Serve(l)
	}()
	t.Cleanup(func() {
		_ = hs.Close()
		<-done
	})
	return "http://" + l.Addr().String()
}

// MustPost POSTs body (JSON; empty for none) to url and fails the test unless the status is want.
func MustPost(t testing.TB, url, body string, want int) Reply {
	t.Helper()
	r, err := Post(HTTPClient, url, body, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != want {
		t.Fatalf("POST %s: %v, want %d", url, r, want)
	}
	return r
}

// DecodeReply unmarshals r's JSON body into v, failing the test otherwise.
func DecodeReply(t testing.TB, r Reply, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// CancelInvocation cancels invocation id through srv's admin API, failing the test unless it is
// answered 200 (done) or 202 (journaled for the handler).
func CancelInvocation(t testing.TB, srv *Server, id string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPatch, srv.Admin+"/invocations/"+id+"/cancel", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := HTTPClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 && resp.StatusCode != 202 {
		t.Fatalf("cancel %s: status %d, %s", id, resp.StatusCode, body)
	}
}

// AttachInvocation waits for invocation id's outcome over srv's ingress and fails the test
// unless its status is want.
func AttachInvocation(t testing.TB, srv *Server, id string, want int) Reply {
	t.Helper()
	resp, err := HTTPClient.Get(srv.Ingress + "/restate/invocation/" + id + "/attach")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != want {
		t.Fatalf("attach to %s: status %d, %s; want %d", id, resp.StatusCode, body, want)
	}
	return Reply{Status: resp.StatusCode, Header: resp.Header, Body: body}
}
