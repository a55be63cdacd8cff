package tracing

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
)

// received collects the span names of OTLP exports, over gRPC and over HTTP.
type received struct {
	coltracepb.UnimplementedTraceServiceServer
	mu    sync.Mutex
	names []string
}

func (r *received) Export(_ context.Context, req *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rs := range req.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				r.names = append(r.names, s.Name)
			}
		}
	}
	return &coltracepb.ExportTraceServiceResponse{}, nil
}

func (r *received) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	var in coltracepb.ExportTraceServiceRequest
	if err == nil {
		err = proto.Unmarshal(body, &in)
	}
	if err != nil || req.URL.Path != "/v1/traces" {
		http.Error(w, "bad export", http.StatusBadRequest)
		return
	}
	out, _ := r.Export(req.Context(), &in)
	b, _ := proto.Marshal(out)
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(b)
}

func (r *received) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.names...)
}

// TestExport: New exports to a real OTLP receiver, over gRPC (http://, restate-server's default)
// and over HTTP (http+otlp://), and Close sends what is buffered.
func TestExport(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	overGRPC := &received{}
	srv := grpc.NewServer()
	coltracepb.RegisterTraceServiceServer(srv, overGRPC)
	go srv.Serve(ln)
	defer srv.Stop()
	overHTTP := &received{}
	hs := httptest.NewServer(overHTTP)
	defer hs.Close()

	for _, tc := range []struct {
		endpoint string
		r        *received
	}{
		{"http://" + ln.Addr().String(), overGRPC},
		{"http+otlp://" + hs.Listener.Addr().String(), overHTTP},
	} {
		t.Run(tc.endpoint, func(t *testing.T) {
			tr, err := New(context.Background(), Config{Endpoint: tc.endpoint})
			if err != nil {
				t.Fatal(err)
			}
			everything(tr, http.Header{"Traceparent": {testParent}})
			if err := tr.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got := tc.r.got(); len(got) != 6 {
				t.Fatalf("received spans %q, want the 6 of one request", got)
			}
		})
	}
}
