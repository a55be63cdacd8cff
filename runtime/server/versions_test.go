package server_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/resolute-run/resolute/runtime/invoker"
	"github.com/resolute-run/resolute/runtime/protocol"
	"github.com/resolute-run/resolute/runtime/server"
	"github.com/resolute-run/resolute/sdk"
	"github.com/resolute-run/resolute/tests/testenv"
)

// TestEveryProtocolVersion runs state, Run and a call between two services end to end with the
// server limited to V5, V6 and V7 in turn (the SDK speaks all three; the highest common wins).
// The deployment is served over real h2c behind a wiretap, which shows the version negotiated on
// every stream.
func TestEveryProtocolVersion(t *testing.T) {
	for _, v := range []protocol.Version{protocol.V5, protocol.V6, protocol.V7} {
		t.Run(fmt.Sprintf("V%d", v), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			s, err := server.Start(ctx, server.Config{DataDir: t.TempDir(), IngressAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", Partitions: 2,
				Invoker: invoker.Config{MaxProtocol: v}})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			counter := sdk.NewObject("Counter").Handler("add", sdk.ObjectHandler(func(ctx sdk.ObjectContext, n int) (string, error) {
				c, err := sdk.Get[int](ctx, "c")
				if err != nil {
					return "", err
				}
				stamp, err := sdk.Run(ctx, func(sdk.RunContext) (string, error) { return "ran", nil })
				if err != nil {
					return "", err
				}
				return fmt.Sprintf("%d %s", c+n, stamp), sdk.Set(ctx, "c", c+n)
			}))
			front := sdk.NewService("Front").Handler("go", sdk.ServiceHandler(func(ctx sdk.Context, key string) (string, error) {
				return sdk.Call[string](ctx, sdk.ToObject("Counter", key, "add"), 2)
			}))
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			srv := &http.Server{Handler: sdk.NewEndpoint().Bind(counter, front).Handler()}
			go srv.Serve(ln)
			defer srv.Close()
			tap := testenv.StartWiretap(t, "http://"+ln.Addr().String())
			if _, err := s.Register(ctx, tap.URL, false); err != nil {
				t.Fatal(err)
			}
			for i, want := range []string{`"2 ran"`, `"4 ran"`} {
				code, _, body := do(t, s.IngressURL(), exchange{"POST", "/Front/go", "application/json", `"k"`})
				if code != 200 || body != want {
					t.Fatalf("call %d: %d %s, want %s", i, code, body, want)
				}
			}
			if err := tap.CheckProtocol(int(v)); err != nil {
				t.Fatal(err)
			}
		})
	}
}
