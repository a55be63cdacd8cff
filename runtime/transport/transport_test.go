package transport_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/h2c"

	"github.com/resolute-run/resolute/runtime/transport"
)

// serveH2C starts a real TCP listener serving h with h2c (prior knowledge) and HTTP/1.1.
func serveH2C(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h2c.NewHandler(h, &http2.Server{})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}

func protoHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("x-proto", r.Proto)
		w.Write(append([]byte(r.URL.Path+":"), body...))
	})
}

func TestH2CRoundTrip(t *testing.T) {
	base := serveH2C(t, protoHandler())
	client := transport.NewClient(transport.Config{})
	resp, err := client.Post(base+"/invoke/S/h", "text/plain", strings.NewReader("hi"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.ProtoMajor != 2 || resp.Header.Get("x-proto") != "HTTP/2.0" {
		t.Fatalf("want HTTP/2 prior knowledge, got client %s server %s", resp.Proto, resp.Header.Get("x-proto"))
	}
	if string(body) != "/invoke/S/h:hi" {
		t.Fatalf("body %q", body)
	}
}

func TestHTTP11(t *testing.T) {
	base := serveH2C(t, protoHandler())
	client := transport.NewClient(transport.Config{})
	req, _ := http.NewRequestWithContext(transport.WithHTTP11(context.Background()), "POST", base+"/x", strings.NewReader("b"))
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if got := resp.Header.Get("x-proto"); got != "HTTP/1.1" {
		t.Fatalf("server saw %s, want HTTP/1.1", got)
	}
}

// echoLines answers every line it reads at once, while the request is still open.
func echoLines() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("x-host", r.Host)
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		sc := bufio.NewScanner(r.Body)
		for sc.Scan() {
			io.WriteString(w, "echo "+sc.Text()+"\n")
			w.(http.Flusher).Flush()
		}
	})
}

func TestInProcessBidirectional(t *testing.T) {
	reg := transport.NewInProcess()
	defer reg.Close()
	reg.Register("svc", echoLines())
	client := transport.NewClient(transport.Config{InProcess: reg})

	pr, pw := io.Pipe()
	req, _ := http.NewRequest("POST", "inproc://svc/invoke/S/h", pr)
	type result struct {
		resp *http.Response
		err  error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := client.Do(req)
		done <- result{resp, err}
	}()
	// The handler writes headers before reading: the response arrives while the body is open.
	if _, err := io.WriteString(pw, "0\n"); err != nil {
		t.Fatal(err)
	}
	res := <-done
	if res.err != nil {
		t.Fatal(res.err)
	}
	defer res.resp.Body.Close()
	if res.resp.ProtoMajor != 2 || res.resp.Header.Get("x-host") != "svc" {
		t.Fatalf("proto %s host %q", res.resp.Proto, res.resp.Header.Get("x-host"))
	}
	rd := bufio.NewReader(res.resp.Body)
	for i := 0; i < 50; i++ {
		want := "echo " + string(rune('0'+i%10)) + "\n"
		got, err := rd.ReadString('\n')
		if err != nil || got != want {
			t.Fatalf("line %d: %q, %v; want %q", i, got, err, want)
		}
		// Keep writing only after the echo came back: proves full duplex, not buffering.
		if _, err := io.WriteString(pw, string(rune('0'+(i+1)%10))+"\n"); err != nil {
			t.Fatal(err)
		}
	}
	pw.Close()
	rest, _ := io.ReadAll(rd)
	if string(rest) != "echo 0\n" {
		t.Fatalf("tail %q", rest)
	}
}

func TestInProcessErrors(t *testing.T) {
	reg := transport.NewInProcess()
	client := transport.NewClient(transport.Config{InProcess: reg})
	if _, err := client.Get("inproc://nobody/health"); !errors.Is(err, transport.ErrUnknownHandler) {
		t.Fatalf("unknown handler: %v", err)
	}
	if _, err := transport.NewClient(transport.Config{}).Get("inproc://x/"); !errors.Is(err, transport.ErrUnsupportedScheme) {
		t.Fatalf("no registry: %v", err)
	}

	// A stream held open across Close: Close ends it and waits for the serving goroutine.
	reg.Register("svc", echoLines())
	pr, pw := io.Pipe()
	defer pw.Close()
	req, _ := http.NewRequest("POST", "inproc://svc/", pr)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	closed := make(chan struct{})
	go func() { reg.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return")
	}
	if _, err := io.ReadAll(resp.Body); err == nil {
		t.Fatal("stream survived Close")
	}
	if _, err := client.Get("inproc://svc/"); !errors.Is(err, transport.ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
}
