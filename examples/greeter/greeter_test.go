package greeter_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/resolute-run/resolute/examples/greeter"
	"github.com/resolute-run/resolute/runtime/server"
)

func startServer(t *testing.T) *server.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := server.Start(ctx, server.Config{DataDir: t.TempDir(), IngressAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", Partitions: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	if err := s.RegisterInProcess(ctx, "greeter", greeter.Endpoint()); err != nil {
		t.Fatal(err)
	}
	return s
}

// post fails the test on a transport error: call it from the test goroutine only.
func post(t *testing.T, url, body string) (int, string) {
	t.Helper()
	code, out, err := postErr(url, body)
	if err != nil {
		t.Fatal(err)
	}
	return code, out
}

// postErr is post for other goroutines: it returns the error instead.
func postErr(url, body string) (int, string, error) {
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		return 0, "", fmt.Errorf("POST %s: %w", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, "", fmt.Errorf("POST %s: read body: %w", url, err)
	}
	return resp.StatusCode, string(b), nil
}

func TestGreeterCountsPerName(t *testing.T) {
	s := startServer(t)
	for i := 1; i <= 3; i++ {
		code, body := post(t, s.IngressURL()+"/Greeter/alice/greet", `"Hello"`)
		want := fmt.Sprintf(`"Hello alice for the %d-th time."`, i)
		if code != 200 || body != want {
			t.Fatalf("call %d: %d %s, want %s", i, code, body, want)
		}
	}
	code, body := post(t, s.IngressURL()+"/Welcome/welcome", `"bob"`)
	if code != 200 || body != `"Welcome bob for the 1-th time."` {
		t.Fatalf("welcome: %d %s", code, body)
	}
	code, body = post(t, s.IngressURL()+"/Welcome/welcome", `""`)
	if code != 400 || !strings.Contains(body, "name must not be empty") {
		t.Fatalf("empty name: %d %s", code, body)
	}
}

// TestGreeterConcurrency: concurrent calls for one key never interleave (the final count equals
// the number of calls and every count is returned exactly once), while different keys proceed
// in parallel.
func TestGreeterConcurrency(t *testing.T) {
	s := startServer(t)
	const keys, perKey = 8, 25
	var mu sync.Mutex
	seen := map[string]bool{}
	var wg sync.WaitGroup
	for k := 0; k < keys; k++ {
		for i := 0; i < perKey; i++ {
			wg.Add(1)
			go func(name string) {
				defer wg.Done()
				code, body, err := postErr(s.IngressURL()+"/Greeter/"+name+"/greet", `"Hi"`)
				if err != nil || code != 200 {
					t.Errorf("%s: %d %s %v", name, code, body, err)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				if seen[body] {
					t.Errorf("count returned twice: %s", body)
				}
				seen[body] = true
			}(fmt.Sprintf("user%d", k))
		}
	}
	wg.Wait()
	// Every count from 1 to perKey came back once for every key, and nothing else did.
	for k := 0; k < keys; k++ {
		for i := 1; i <= perKey; i++ {
			if want := fmt.Sprintf(`"Hi user%d for the %d-th time."`, k, i); !seen[want] {
				t.Errorf("no call answered %s", want)
			}
		}
	}
	if len(seen) != keys*perKey {
		t.Errorf("%d distinct answers, want %d", len(seen), keys*perKey)
	}
	for k := 0; k < keys; k++ {
		code, body := post(t, fmt.Sprintf("%s/Greeter/user%d/count", s.IngressURL(), k), "")
		if code != 200 || body != fmt.Sprint(perKey) {
			t.Errorf("user%d count: %d %s, want %d", k, code, body, perKey)
		}
	}
}
