package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestReadTokens(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		name, content string
		want          []string
		fails         bool
	}{
		{"two tokens", "# rotated 2026-11\nnew-token\n\n  old-token  \n", []string{"new-token", "old-token"}, false},
		{"only comments", "# none yet\n\n", nil, true},
		{"empty", "", nil, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, tt.name)
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := readTokens("--x", path)
			if (err != nil) != tt.fails || fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("readTokens = %q, %v; want %q (fails %v)", got, err, tt.want, tt.fails)
			}
		})
	}
	if _, err := readTokens("--x", filepath.Join(dir, "missing")); err == nil {
		t.Fatal("a missing file was accepted")
	}
}

// TestDevHasNoTokenFlags: `resolute dev` cannot be given tokens, `resolute server` can.
func TestDevHasNoTokenFlags(t *testing.T) {
	root := rootCommand()
	for _, tt := range []struct {
		cmd  string
		want bool
	}{{"server", true}, {"dev", false}} {
		c, _, err := root.Find([]string{tt.cmd})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"admin-tokens-file", "ingress-tokens-file"} {
			if got := c.Flags().Lookup(f) != nil; got != tt.want {
				t.Errorf("resolute %s has --%s: %v, want %v", tt.cmd, f, got, tt.want)
			}
		}
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestServerTokenFlags runs `resolute server --admin-tokens-file F --ingress-tokens-file G` and
// checks that each API takes its own token only.
func TestServerTokenFlags(t *testing.T) {
	dir := t.TempDir()
	adminFile, ingressFile := filepath.Join(dir, "admin"), filepath.Join(dir, "ingress")
	os.WriteFile(adminFile, []byte("a-token\n"), 0o600)
	os.WriteFile(ingressFile, []byte("i-token\n"), 0o600)
	adminAddr, ingressAddr := freeAddr(t), freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	root := rootCommand()
	root.SetArgs([]string{"server", "--data-dir", filepath.Join(dir, "data"), "--partitions", "1",
		"--admin-addr", adminAddr, "--ingress-addr", ingressAddr, "--log-level", "warn",
		"--admin-tokens-file", adminFile, "--ingress-tokens-file", ingressFile})
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("resolute server: %v", err)
		}
	}()
	status := func(url, tok string) int {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	deadline := time.Now().Add(time.Minute)
	for status("http://"+adminAddr+"/health", "") != 200 {
		if time.Now().After(deadline) {
			t.Fatal("the server did not answer on /health")
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, tt := range []struct {
		url, tok string
		want     int
	}{
		{"http://" + adminAddr + "/deployments", "", 401},
		{"http://" + adminAddr + "/deployments", "i-token", 401},
		{"http://" + adminAddr + "/deployments", "a-token", 200},
		{"http://" + ingressAddr + "/restate/health", "", 200},
		{"http://" + ingressAddr + "/restate/awakeables/x/resolve", "a-token", 401},
		{"http://" + ingressAddr + "/Nope/call", "i-token", 404}, // past the guard: no such service
	} {
		if got := status(tt.url, tt.tok); got != tt.want {
			t.Errorf("GET %s with %q: %d, want %d", tt.url, tt.tok, got, tt.want)
		}
	}
}
