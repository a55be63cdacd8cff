//go:build linux

package kafkaadmin

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/resolute-run/resolute/examples/greeter"
	"github.com/resolute-run/resolute/tests/testenv"
)

// TestConfigFileClusters: `resolute server --config FILE` records the file's
// [[ingress.kafka-clusters]]; a cluster and a subscription made through the API survive a
// SIGKILL; restarted with another file, the clusters follow it, except one a subscription reads
// from, which goes at the start after the subscription is deleted; a cluster our Kafka client
// cannot use stops the server with the cluster and property named.
func TestConfigFileClusters(t *testing.T) {
	bin := testenv.ResoluteBinary(t)
	config := filepath.Join(t.TempDir(), "resolute.toml")
	write := func(s string) {
		if err := os.WriteFile(config, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(`
partitions = 2
[[ingress.kafka-clusters]]
name = "orders"
brokers = ["PLAINTEXT://k1:9092", "k2:9092"]
"security.protocol" = "SASL_SSL"
"sasl.mechanism" = "PLAIN"
"sasl.username" = "svc"
"sasl.password" = "secret"
`)
	srv := testenv.StartServer(t, testenv.ServerConfig{Bin: bin, Args: []string{"--config", config}})
	got := call(t, srv.Admin, "GET", "/kafka-clusters/orders", "")
	want := `{"name":"orders","properties":{"metadata.broker.list":"PLAINTEXT://k1:9092,k2:9092","sasl.mechanism":"PLAIN","sasl.password":"***","sasl.username":"***","security.protocol":"SASL_SSL"},` +
		`"created_at":"1970-01-01T00:00:00Z","subscriptions":[],"info":[{"message":"This Kafka cluster was configured in the configuration file ([[ingress.kafka-clusters]]): change or remove it there, the admin API cannot."}]}`
	if got.status != 200 || !matches(got.body, want) {
		t.Fatalf("GET /kafka-clusters/orders: %s\nwant %s", got, want)
	}
	// A cluster and a subscription made through the API survive a SIGKILL.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go greeter.Endpoint().Serve(ln)
	t.Cleanup(func() { ln.Close() })
	if _, err := testenv.Register(srv.Admin, "http://"+ln.Addr().String()+"/"); err != nil {
		t.Fatal(err)
	}
	if got := call(t, srv.Admin, "POST", "/kafka-clusters", `{"name":"api","properties":{"bootstrap.servers":"a:9092"}}`); got.status != 201 {
		t.Fatalf("create api: %s", got)
	}
	sub := call(t, srv.Admin, "POST", "/subscriptions", `{"source":"kafka://orders/o","sink":"service://Greeter/greet"}`)
	if sub.status != 201 {
		t.Fatalf("subscribe: %s", sub)
	}
	srv.Kill()
	srv.Restart()
	if got := call(t, srv.Admin, "GET", "/subscriptions", ""); got.status != 200 || !matches(got.body, `{"subscriptions":[`+sub.body+`]}`) {
		t.Errorf("subscriptions after a SIGKILL: %s, want %s", got, sub.body)
	}
	srv.Stop()
	// Another file: orders, still read from, stays; events comes; api is the API's.
	write("partitions = 2\n[[ingress.kafka-clusters]]\nname = \"events\"\nbrokers = [\"e:9092\"]\n")
	srv.Restart()
	if names := clusterNames(t, call(t, srv.Admin, "GET", "/kafka-clusters", "")); names != "api,events,orders" {
		t.Errorf("clusters after a restart with another file: %q, want api,events,orders", names)
	}
	var v struct{ ID string }
	_ = json.Unmarshal([]byte(sub.body), &v)
	if got := call(t, srv.Admin, "DELETE", "/subscriptions/"+v.ID, ""); got.status != 202 {
		t.Errorf("delete the subscription: %s", got)
	}
	srv.Stop()
	srv.Restart()
	if names := clusterNames(t, call(t, srv.Admin, "GET", "/kafka-clusters", "")); names != "api,events" {
		t.Errorf("clusters once orders is unused: %q, want api,events", names)
	}
	srv.Stop()

	write("partitions = 2\n[[ingress.kafka-clusters]]\nname = \"bad\"\nbrokers = [\"b:9092\"]\n\"sasl.kerberos.keytab\" = \"/etc/k\"\n")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "server", "--data-dir", t.TempDir(), "--config", config).CombinedOutput()
	if err == nil || !strings.Contains(string(out), `kafka cluster "bad": kafka: property 'sasl.kerberos.keytab': not supported`) {
		t.Errorf("a cluster with an unsupported property: %v\n%s", err, out)
	}
}
