//go:build linux

package sdk_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/resolute-run/resolute/runtime/protocol"
	"github.com/resolute-run/resolute/runtime/protocol/pb"
	"github.com/resolute-run/resolute/sdk"
	"github.com/resolute-run/resolute/tests/testenv"
)

// drawOnce invokes R/draw at base as the runtime would at version v, with StartMessage.random_seed
// = seed, and returns the content of the handler's OutputCommand.
func drawOnce(t *testing.T, base string, v protocol.Version, seed uint64) []byte {
	t.Helper()
	st := start(1, "")
	st.RandomSeed = seed
	var body []byte
	for _, m := range []proto.Message{st, &pb.InputCommandMessage{}} {
		f, err := protocol.EncodeMessage(m)
		if err != nil {
			t.Fatal(err)
		}
		body = protocol.AppendFrame(body, f)
	}
	req, err := http.NewRequest(http.MethodPost, base+"/invoke/R/draw", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("content-type", v.ContentType())
	req.Header.Set("accept", v.ContentType())
	resp, err := h2cClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := protocol.NewReader(resp.Body)
	for {
		f, err := r.ReadFrame()
		if err != nil {
			t.Fatalf("%s at V%d: no output before %v", base, v, err)
		}
		if f.Type != protocol.OutputCommandType {
			continue
		}
		m, err := f.Message()
		if err != nil {
			t.Fatal(err)
		}
		return m.(*pb.OutputCommandMessage).GetValue().GetContent()
	}
}

// TestRandMatchesOfficialGoSDK: from the same random_seed our handler draws what the official Go
// SDK (github.com/restatedev/sdk-go v1.2.0) draws. The expected values are what this sdk-go
// handler returned when driven by drawOnce with seed 12345 at V6 (the Go SDK uses the seed from
// V6 on):
//
//	r := restate.Rand(ctx)
//	a, b, n := r.Uint64(), r.Uint64(), r.IntN(1<<30)
//	return fmt.Sprintf("%d %d %d %s", a, b, n, restate.UUID(ctx).String()), nil
func TestRandMatchesOfficialGoSDK(t *testing.T) {
	const want = `"10201931350592234856 3780764549115216544 651922793 d06d0cc2-5388-4f2c-999c-039cff3fff43"`
	ours := sdk.NewService("R").Handler("draw", sdk.ServiceHandler(func(ctx sdk.Context, _ sdk.Void) (string, error) {
		r := ctx.Rand()
		a, b, n := r.Uint64(), r.Uint64(), r.IntN(1<<30)
		return fmt.Sprintf("%d %d %d %s", a, b, n, ctx.UUID()), nil
	}))
	base := serve(t, sdk.NewEndpoint().Bind(ours))
	for _, v := range []protocol.Version{protocol.V6, protocol.V7} {
		if got := drawOnce(t, base, v, 12345); string(got) != want {
			t.Errorf("V%d, seed 12345: drew %s, the official Go SDK drew %s", v, got, want)
		}
	}
}

// TestRandMatchesOfficialTSSDK runs the official TypeScript SDK (compat/ts, @restatedev/restate-sdk)
// and our SDK side by side and gives both the same StartMessages: for every seed, UUIDs and floats
// drawn by both are equal. (V5 is left out: the official SDKs disagree there — the TypeScript SDK
// hashes the id with SipHash, the Go SDK with SHA-256 into the generator state, the Rust SDK and
// ours take the first 8 bytes of its SHA-256 as the seed.)
func TestRandMatchesOfficialTSSDK(t *testing.T) {
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	node, err := exec.LookPath("node")
	testenv.RequirePrereq(t, err == nil, "node not found in PATH (install Node 20+)")
	tsSDK := filepath.Join(root, "compat/ts/node_modules/@restatedev/restate-sdk/dist/index.js")
	_, err = os.Stat(tsSDK)
	testenv.RequirePrereq(t, err == nil, "%s missing: run `npm ci --ignore-scripts` in compat/ts", tsSDK)

	port := testenv.FreePorts(t, 1)[0]
	ts := "http://" + testenv.Addr(port)
	script, err := filepath.Abs("testdata/tsrand.mjs")
	if err != nil {
		t.Fatal(err)
	}
	proc := testenv.StartProc(t, "ts-rand", t.TempDir(),
		exec.Command(node, "--import", filepath.Join(root, "compat/ts/polyfill.mjs"), script, tsSDK, fmt.Sprint(port)))
	testenv.WaitReady(t, "TypeScript SDK endpoint", time.Minute, func() error {
		return testenv.ExpectStatus(testenv.H2CClient, ts+"/health", http.StatusOK)
	}, proc)

	ours := sdk.NewService("R").Handler("draw", sdk.ServiceHandler(func(ctx sdk.Context, _ sdk.Void) ([]any, error) {
		return []any{ctx.UUID(), ctx.UUID(), ctx.Rand().Float64()}, nil
	}))
	base := serve(t, sdk.NewEndpoint().Bind(ours))

	seeds := []uint64{0, 1, 12345, 1 << 63, math.MaxUint64, rand.Uint64(), rand.Uint64()}
	for _, v := range []protocol.Version{protocol.V6, protocol.V7} {
		for _, seed := range seeds {
			var want, got []any
			if err := json.Unmarshal(drawOnce(t, ts, v, seed), &want); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(drawOnce(t, base, v, seed), &got); err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("V%d, seed %d: drew %v, the official TypeScript SDK drew %v", v, seed, got, want)
			}
		}
	}
}
