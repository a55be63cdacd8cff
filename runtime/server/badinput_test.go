package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/resolute-run/resolute/runtime/server"
	"github.com/resolute-run/resolute/sdk"
)

func startServer(t *testing.T, maxBody int64) *server.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := server.Start(ctx, server.Config{DataDir: t.TempDir(), IngressAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", Partitions: 2, MaxBodySize: maxBody})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	counter := sdk.NewObject("Counter").Handler("add", sdk.ObjectHandler(func(ctx sdk.ObjectContext, n int) (int, error) {
		c, err := sdk.Get[int](ctx, "c")
		if err != nil {
			return 0, err
		}
		return c + n, sdk.Set(ctx, "c", c+n)
	}))
	if err := s.RegisterInProcess(ctx, "counter", sdk.NewEndpoint().Bind(counter)); err != nil {
		t.Fatal(err)
	}
	return s
}

type exchange struct {
	method, path, contentType, body string
}

func do(t *testing.T, base string, x exchange) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(x.method, base+x.path, strings.NewReader(x.body))
	if err != nil {
		t.Fatal(err)
	}
	if x.contentType != "" {
		req.Header.Set("content-type", x.contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// TestBadInputGetsClearErrorsAndServerKeepsWorking sends every kind of bad request to the real
// server and checks the status and that the message names the problem; after each one, a good
// call still works and the state so far is intact.
func TestBadInputGetsClearErrorsAndServerKeepsWorking(t *testing.T) {
	s := startServer(t, 1024)
	unreachable := closedPort(t)
	tests := []struct {
		name     string
		base     string
		x        exchange
		status   int
		contains string
	}{
		{"malformed JSON", s.IngressURL(), exchange{"POST", "/Counter/a/add", "application/json", `{"n": `}, 400, "invalid JSON"},
		{"unknown service", s.IngressURL(), exchange{"POST", "/Nope/a/add", "application/json", `1`}, 404, "service 'Nope' not found"},
		{"unknown handler", s.IngressURL(), exchange{"POST", "/Counter/a/nope", "application/json", `1`}, 404, "handler 'nope' was not found"},
		{"object without key", s.IngressURL(), exchange{"POST", "/Counter/add", "application/json", `1`}, 400, "bad path"},
		{"wrong method", s.IngressURL(), exchange{"DELETE", "/Counter/a/add", "application/json", `1`}, 405, "method"},
		{"oversized body", s.IngressURL(), exchange{"POST", "/Counter/a/add", "application/json", "[" + strings.Repeat("1,", 2000) + "1]"}, 413, "1024"},
		{"discovery fails", s.AdminURL(), exchange{"POST", "/deployments", "application/json", `{"uri":"http://` + unreachable + `"}`}, 500, "META0003"},
		{"admin malformed body", s.AdminURL(), exchange{"POST", "/deployments", "application/json", `{"uri":`}, 400, "EOF while parsing a value"},
		{"admin unknown service", s.AdminURL(), exchange{"GET", "/services/Nope", "", ""}, 404, "Nope"},
	}
	want := 0
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, body := do(t, tt.base, tt.x)
			if code != tt.status || !strings.Contains(body, tt.contains) {
				t.Fatalf("got %d %s, want %d containing %q", code, body, tt.status, tt.contains)
			}
			want++
			code, _, body = do(t, s.IngressURL(), exchange{"POST", "/Counter/a/add", "application/json", "1"})
			var n int
			if code != 200 || json.Unmarshal([]byte(body), &n) != nil || n != want {
				t.Fatalf("server after bad input: %d %s, want count %d", code, body, want)
			}
		})
	}
}

func closedPort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
