package testenv

import (
	"encoding/json"
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
