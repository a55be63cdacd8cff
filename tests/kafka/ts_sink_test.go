package kafka

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/resolute-run/resolute/tests/testenv"
)

// startTSSink runs compat/ts/kafkasink.mjs (the official TypeScript SDK, @restatedev/restate-sdk)
// under node and returns its URL. It skips without node or compat/ts/node_modules, unless CI=true.
func startTSSink(t *testing.T) string {
	t.Helper()
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	node, err := exec.LookPath("node")
	testenv.RequirePrereq(t, err == nil, "node not found in PATH (install Node 20+)")
	dir := filepath.Join(root, "compat", "ts")
	_, err = os.Stat(filepath.Join(dir, "node_modules", "@restatedev", "restate-sdk", "package.json"))
	testenv.RequirePrereq(t, err == nil, "compat/ts/node_modules/@restatedev/restate-sdk missing: run `npm ci --ignore-scripts` in compat/ts")
	port := testenv.FreePorts(t, 1)[0]
	cmd := exec.Command(node, "--import", "./polyfill.mjs", "kafkasink.mjs", strconv.Itoa(port))
	cmd.Dir = dir
	p := testenv.StartProc(t, "ts-kafka-sink", t.TempDir(), cmd)
	url := "http://" + testenv.Addr(port)
	testenv.WaitReady(t, "TypeScript SDK endpoint", time.Minute, func() error {
		return testenv.ExpectStatus(testenv.H2CClient, url+"/health", http.StatusOK)
	}, p)
	return url
}

// tsView is TsOrders/{key}/get: the values handed to add, and each invocation's headers.
type tsView struct {
	Seen    []int               `json:"seen"`
	Headers []map[string]string `json:"headers"`
}

func tsGet(t *testing.T, srv *testenv.Server, key string) tsView {
	t.Helper()
	r, err := testenv.Invoke(srv.Ingress, "/TsOrders/"+key+"/get", "")
	if err != nil || r.Status != http.StatusOK {
		t.Fatalf("get %s: %v %v", key, r, err)
	}
	var v tsView
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Fatalf("get %s: %s: %v", key, r.Body, err)
	}
	return v
}

// TestTSSDKAsSink: a Virtual Object of the official TypeScript SDK, unchanged, is the sink of a
// subscription. Records with 6 keys over 4 Kafka partitions reach TsOrders/{key}/add once each,
// in the order produced; each invocation carries the record's Kafka metadata as
// ctx.request().headers (kafka.key in URL-safe base64, offsets rising per key, one partition per
// key, the record's own header); and the same handler answers an RPC through the ingress.
func TestTSSDKAsSink(t *testing.T) {
	url := startTSSink(t)
	kc, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(4, topic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kc.Close)
	srv := testenv.StartServer(t, testenv.ServerConfig{Args: []string{"--partitions", "4"}})
	if _, err := testenv.Register(srv.Admin, url); err != nil {
		t.Fatal(err)
	}
	testenv.MustPost(t, srv.Admin+"/kafka-clusters",
		fmt.Sprintf(`{"name":"local","properties":{"bootstrap.servers":%q}}`, strings.Join(kc.ListenAddrs(), ",")), http.StatusCreated)
	r := testenv.MustPost(t, srv.Admin+"/subscriptions",
		`{"source":"kafka://local/orders","sink":"service://TsOrders/add","options":{"auto.offset.reset":"earliest"}}`, http.StatusCreated)
	var sub struct {
		ID string `json:"id"`
	}
	testenv.DecodeReply(t, r, &sub)

	const n, keys = 120, 6
	produce(t, kc, 0, n, keys)
	got := map[string]tsView{}
	testenv.WaitReady(t, fmt.Sprintf("%d records handled by the TypeScript SDK", n), 2*time.Minute, func() error {
		total := 0
		for k := range keys {
			key := "k" + strconv.Itoa(k)
			got[key] = tsGet(t, srv, key)
			total += len(got[key].Seen)
		}
		if total < n {
			return fmt.Errorf("%d of %d handled", total, n)
		}
		return nil
	})

	for k := range keys {
		key := "k" + strconv.Itoa(k)
		v := got[key]
		var want []int
		for i := k; i < n; i += keys {
			want = append(want, i)
		}
		if !slices.Equal(v.Seen, want) {
			t.Errorf("%s handled %v, want %v (each record once, in the order produced)", key, v.Seen, want)
		}
		if len(v.Headers) != len(v.Seen) {
			t.Errorf("%s: %d header sets for %d values", key, len(v.Headers), len(v.Seen))
			continue
		}
		lastOffset, bad := int64(-1), false
		for i, h := range v.Headers {
			if bad {
				t.Errorf("%s: stopped checking at record %d", key, i-1)
				break
			}
			for name, want := range map[string]string{
				"kafka.topic": topic, "kafka.key": base64.URLEncoding.EncodeToString([]byte(key)),
				"kafka.partition": v.Headers[0]["kafka.partition"], "restate.subscription.id": sub.ID, "x-source": "test",
			} {
				if h[name] != want {
					t.Errorf("%s, record %d: header %s = %q, want %q (headers %v)", key, i, name, h[name], want, h)
					bad = true
				}
			}
			if _, err := strconv.ParseInt(h["kafka.timestamp"], 10, 64); err != nil {
				t.Errorf("%s, record %d: kafka.timestamp = %q, want a number", key, i, h["kafka.timestamp"])
				bad = true
			}
			off, err := strconv.ParseInt(h["kafka.offset"], 10, 64)
			if err != nil || off <= lastOffset {
				t.Errorf("%s, record %d: kafka.offset = %q after %d, want a larger number", key, i, h["kafka.offset"], lastOffset)
				bad = true
			}
			lastOffset = off
		}
	}

	// The handler a subscription feeds is an ordinary one: callable through the ingress.
	if r, err := testenv.Invoke(srv.Ingress, "/TsOrders/rpc/add", "7"); err != nil || r.Status != http.StatusOK || string(r.Body) != "1" {
		t.Fatalf("RPC TsOrders/rpc/add(7): %v %v, want 200 1", r, err)
	}
	if v := tsGet(t, srv, "rpc"); !slices.Equal(v.Seen, []int{7}) || len(v.Headers) != 1 || v.Headers[0]["kafka.offset"] != "" {
		t.Errorf("after the RPC, TsOrders/rpc is %+v, want [7] with no Kafka headers", v)
	}
}
