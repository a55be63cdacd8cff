package server_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/resolute-run/resolute/runtime/server"
)

// TestIngressCORS: the ingress answers a browser as restate-server's does (ingress.CORS), in front
// of the bearer-token guard: a preflight, which a browser sends without credentials, is allowed
// without a token, and a page can read the answers, 401s included.
func TestIngressCORS(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := server.Start(ctx, server.Config{
		DataDir: t.TempDir(), IngressAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", Partitions: 2,
		IngressTokens: []string{"tok"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var adds atomic.Int64
	if err := s.RegisterInProcess(ctx, "tally", tallies(&adds)); err != nil {
		t.Fatal(err)
	}
	const origin = "http://app.example"
	for _, tt := range []struct {
		name, method string
		hdr          map[string]string
		status       int
		body         string // "" checks nothing
		allowHeaders string
	}{
		{"preflight without a token", "OPTIONS", map[string]string{"Origin": origin, "Access-Control-Request-Method": "POST",
			"Access-Control-Request-Headers": "authorization,content-type"}, 200, "", "authorization,content-type"},
		{"call without a token", "POST", map[string]string{"Origin": origin}, 401, `{"code":401,"message":"missing bearer token","source":"ingress"}`, ""},
		{"call with the token", "POST", map[string]string{"Origin": origin, "Authorization": "Bearer tok"}, 200, "2", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, s.IngressURL()+"/Tally/a/add", strings.NewReader("2"))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("content-type", "application/json")
			for k, v := range tt.hdr {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status || tt.body != "" && string(body) != tt.body {
				t.Fatalf("%d %s, want %d %s", resp.StatusCode, body, tt.status, tt.body)
			}
			for k, v := range map[string]string{"Access-Control-Allow-Origin": origin, "Access-Control-Allow-Credentials": "true",
				"Access-Control-Allow-Headers": tt.allowHeaders} {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
		})
	}
	if n := adds.Load(); n != 1 {
		t.Fatalf("add ran %d times, want once (the call with the token)", n)
	}
}
