// Package kafkaadmin tests Kafka clusters and subscriptions through the admin API of a real
// server (real Raft log and pebble storage, restarted on its data directory), the configuration
// file's clusters through the real binary, and the answers against restate-server's.
package kafkaadmin

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/resolute-run/resolute/examples/greeter"
	"github.com/resolute-run/resolute/runtime/registry"
	"github.com/resolute-run/resolute/runtime/server"
)

// answer is one admin API response.
type answer struct {
	status      int
	contentType string
	location    string
	body        string
}

func (a answer) String() string {
	return fmt.Sprintf("%d %s %s", a.status, a.contentType, a.body)
}

func call(t *testing.T, base, method, path, body string) answer {
	t.Helper()
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	ct, _, _ := strings.Cut(resp.Header.Get("Content-Type"), ";")
	return answer{status: resp.StatusCode, contentType: ct, location: resp.Header.Get("Location"), body: string(b)}
}

func startServer(t *testing.T, dir string, clusters []registry.KafkaCluster) *server.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := server.Start(ctx, server.Config{DataDir: dir, IngressAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", Partitions: 2, KafkaClusters: clusters})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var subIDPattern = regexp.MustCompile(`sub_1[0-9A-Za-z]{22}`)

// TestKafkaAdmin: the Kafka cluster and subscription routes of a real server, request by
// request (statuses, error wording, bodies), then the same reads after a restart on the data
// directory, with the configuration's clusters changed.
func TestKafkaAdmin(t *testing.T) {
	dir := t.TempDir()
	cfg := []registry.KafkaCluster{{Name: "cfg", Properties: map[string]string{"metadata.broker.list": "c:9092", "security.protocol": "sasl_plaintext",
		"sasl.mechanism": "PLAIN", "sasl.username": "u", "sasl.password": "p"}}}
	s := startServer(t, dir, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.RegisterInProcess(ctx, "greeter", greeter.Endpoint()); err != nil {
		t.Fatal(err)
	}
	admin := s.AdminURL()
	ids := map[string]string{} // name in the script -> id
	const (
		clusterCreated = `{"name":"k1","properties":{"bootstrap.servers":"k:9092","client.id":"me","sasl.password":"***","sasl.username":"***","security.protocol":"SASL_SSL","sasl.mechanism":"SCRAM-SHA-256"},"created_at":"TIME"}`
		cfgCluster     = `{"name":"cfg","properties":{"metadata.broker.list":"c:9092","sasl.mechanism":"PLAIN","sasl.password":"***","sasl.username":"***","security.protocol":"sasl_plaintext"},"created_at":"1970-01-01T00:00:00Z","info":[{"message":"This Kafka cluster was configured in the configuration file ([[ingress.kafka-clusters]]): change or remove it there, the admin API cannot."}]}`
	)
	steps := []struct {
		name, method, path, body string
		status                   int
		want                     string // the body (JSON compared as values; ids by name) or, with prefix "~", a part of it
		save                     string // name the id in the answer
	}{
		{"no clusters made yet", "GET", "/kafka-clusters", "", 200, `{"clusters":[` + cfgCluster + `]}`, ""},
		{"create", "POST", "/kafka-clusters", `{"name":"k1","properties":{"bootstrap.servers":"k:9092","client.id":"me","security.protocol":"SASL_SSL","sasl.mechanism":"SCRAM-SHA-256","sasl.username":"u","sasl.password":"p"}}`, 201, clusterCreated, ""},
		{"create again", "POST", "/kafka-clusters", `{"name":"k1","properties":{"bootstrap.servers":"k:9092"}}`, 409, `{"message":"kafka cluster 'k1' already exists in schema registry","restate_code":null}`, ""},
		{"create over the configuration's", "POST", "/kafka-clusters", `{"name":"cfg","properties":{"bootstrap.servers":"k:9092"}}`, 409, `{"message":"kafka cluster 'cfg' conflicts with static configuration. Cluster names in schema registry cannot override statically configured clusters.","restate_code":null}`, ""},
		{"no brokers", "POST", "/kafka-clusters", `{"name":"x","properties":{"client.id":"a"}}`, 400, `{"message":"kafka cluster 'x' properties must contain either 'bootstrap.servers' or 'metadata.broker.list'","restate_code":null}`, ""},
		{"unsupported mechanism", "POST", "/kafka-clusters", `{"name":"x","properties":{"bootstrap.servers":"k:1","security.protocol":"sasl_ssl","sasl.mechanism":"GSSAPI"}}`, 400, `~The request field 'properties' is invalid. Reason: kafka: property 'sasl.mechanism' = 'GSSAPI': not supported`, ""},
		{"unsupported property", "POST", "/kafka-clusters", `{"name":"x","properties":{"bootstrap.servers":"k:1","ssl.keystore.location":"/ks"}}`, 400, `~kafka: property 'ssl.keystore.location': not supported`, ""},
		{"name not a host name", "POST", "/kafka-clusters", `{"name":"a:b","properties":{"bootstrap.servers":"k:1"}}`, 400, `~The request field 'name' is invalid. Reason: 'a:b' is not a host name`, ""},
		{"name with a space", "POST", "/kafka-clusters", `{"name":"a b","properties":{"bootstrap.servers":"k:1"}}`, 422, `Failed to deserialize the JSON body into the target type: name: invalid uri character`, ""},
		{"empty name", "POST", "/kafka-clusters", `{"name":"","properties":{"bootstrap.servers":"k:1"}}`, 422, `Failed to deserialize the JSON body into the target type: name: empty string`, ""},
		{"no properties", "POST", "/kafka-clusters", `{"name":"x"}`, 422, "Failed to deserialize the JSON body into the target type: missing field `properties`", ""},
		{"get", "GET", "/kafka-clusters/k1", "", 200, strings.TrimSuffix(clusterCreated, "}") + `,"subscriptions":[]}`, ""},
		{"get unknown", "GET", "/kafka-clusters/nope", "", 404, `{"message":"The requested Kafka cluster 'nope' does not exist","restate_code":null}`, ""},
		{"update", "PATCH", "/kafka-clusters/k1", `{"properties":{"bootstrap.servers":"k2:9092"}}`, 200, `{"name":"k1","properties":{"bootstrap.servers":"k2:9092"},"created_at":"TIME"}`, ""},
		{"update without brokers", "PATCH", "/kafka-clusters/k1", `{"properties":{}}`, 400, `{"message":"kafka cluster 'k1' properties must contain either 'bootstrap.servers' or 'metadata.broker.list'","restate_code":null}`, ""},
		{"update unknown", "PATCH", "/kafka-clusters/nope", `{"properties":{"bootstrap.servers":"k2:9092"}}`, 404, `{"message":"not found in the schema registry: kafka cluster 'nope'","restate_code":null}`, ""},
		{"update the configuration's", "PATCH", "/kafka-clusters/cfg", `{"properties":{"bootstrap.servers":"k2:9092"}}`, 409, `{"message":"kafka cluster 'cfg' cannot be updated, because it was defined in the restate configuration file. Update the configuration file directly, or remove the configuration file","restate_code":null}`, ""},
		{"delete the configuration's", "DELETE", "/kafka-clusters/cfg", "", 409, `~cannot be updated, because it was defined in the restate configuration file`, ""},
		{"delete unknown", "DELETE", "/kafka-clusters/nope", "", 404, `{"message":"not found in the schema registry: kafka cluster named 'nope'","restate_code":null}`, ""},

		{"subscribe an object", "POST", "/subscriptions", `{"source":"kafka://k1/orders","sink":"service://Greeter/greet","options":{"auto.offset.reset":"earliest","resolute.max.in.flight":"10"}}`, 201,
			`{"id":"<a>","source":"kafka://k1/orders","sink":"service://Greeter/greet","options":{"auto.offset.reset":"earliest","resolute.max.in.flight":"10","group.id":"<a>","client.id":"resolute"}}`, "a"},
		{"subscribe a service", "POST", "/subscriptions", `{"source":"kafka://cfg/events","sink":"service://Welcome/welcome","options":{"group.id":"g"}}`, 201,
			`{"id":"<b>","source":"kafka://cfg/events","sink":"service://Welcome/welcome","options":{"group.id":"g","client.id":"resolute"}}`, "b"},
		{"unknown cluster", "POST", "/subscriptions", `{"source":"kafka://nope/t","sink":"service://Greeter/greet"}`, 400, `{"message":"Kafka cluster 'nope' not found. Available clusters: [\"cfg\", \"k1\"]","restate_code":null}`, ""},
		{"unknown service", "POST", "/subscriptions", `{"source":"kafka://k1/t","sink":"service://Nope/greet"}`, 400, `{"message":"[META0009] invalid sink URI 'service://Nope/greet': cannot find service/handler specified in the sink URI.","restate_code":"META0009"}`, ""},
		{"unknown handler", "POST", "/subscriptions", `{"source":"kafka://k1/t","sink":"service://Greeter/nope"}`, 400, `{"message":"[META0009] invalid sink URI 'service://Greeter/nope': cannot find service/handler specified in the sink URI.","restate_code":"META0009"}`, ""},
		{"sink without handler", "POST", "/subscriptions", `{"source":"kafka://k1/t","sink":"service://Greeter"}`, 400, `~invalid sink URI 'service://Greeter/': cannot find service/handler`, ""},
		{"source not kafka", "POST", "/subscriptions", `{"source":"http://k1/t","sink":"service://Greeter/greet"}`, 400, `{"message":"[META0009] invalid source URI 'http://k1/t': must have a scheme segment, with supported schemes: [kafka].","restate_code":"META0009"}`, ""},
		{"sink not a service", "POST", "/subscriptions", `{"source":"kafka://k1/t","sink":"http://Greeter/greet"}`, 400, `{"message":"[META0009] invalid sink URI 'http://Greeter/greet': must have a scheme segment, with supported schemes: [service].","restate_code":"META0009"}`, ""},
		{"no topic", "POST", "/subscriptions", `{"source":"kafka://k1","sink":"service://Greeter/greet"}`, 400, `~invalid source URI 'kafka://k1/': must be kafka://CLUSTER/TOPIC: the topic is empty`, ""},
		{"bad topic", "POST", "/subscriptions", `{"source":"kafka://k1/a/b","sink":"service://Greeter/greet"}`, 400, `~the topic \"a/b\" has '/'`, ""},
		{"source not a URI", "POST", "/subscriptions", `{"source":"k1/t","sink":"service://Greeter/greet"}`, 422, `Failed to deserialize the JSON body into the target type: source: invalid format`, ""},
		{"source with a space", "POST", "/subscriptions", `{"source":"not a uri","sink":"service://Greeter/greet"}`, 422, `Failed to deserialize the JSON body into the target type: source: invalid uri character`, ""},
		{"sink without service", "POST", "/subscriptions", `{"source":"kafka://k1/t","sink":"service:///greet"}`, 422, `Failed to deserialize the JSON body into the target type: sink: invalid format`, ""},
		{"no sink", "POST", "/subscriptions", `{"source":"kafka://k1/t"}`, 422, "Failed to deserialize the JSON body into the target type: missing field `sink`", ""},
		{"unknown option", "POST", "/subscriptions", `{"source":"kafka://k1/t","sink":"service://Greeter/greet","options":{"fetch.max.bytes":"1"}}`, 400, `~unknown option 'fetch.max.bytes'`, ""},
		{"bad offset reset", "POST", "/subscriptions", `{"source":"kafka://k1/t","sink":"service://Greeter/greet","options":{"auto.offset.reset":"error"}}`, 400, `~auto.offset.reset 'error': want earliest or latest`, ""},
		{"bad bound", "POST", "/subscriptions", `{"source":"kafka://k1/t","sink":"service://Greeter/greet","options":{"resolute.max.in.flight":"-3"}}`, 400, `~resolute.max.in.flight '-3': want a whole number from 1 to 1000000`, ""},
		{"not JSON", "POST", "/subscriptions", `{`, 400, `~Failed to parse the request body as JSON`, ""},
		{"list", "GET", "/subscriptions", "", 200, `{"subscriptions":[` +
			`{"id":"<a>","source":"kafka://k1/orders","sink":"service://Greeter/greet","options":{"auto.offset.reset":"earliest","resolute.max.in.flight":"10","group.id":"<a>","client.id":"resolute"}},` +
			`{"id":"<b>","source":"kafka://cfg/events","sink":"service://Welcome/welcome","options":{"group.id":"g","client.id":"resolute"}}]}`, ""},
		{"list by sink", "GET", "/subscriptions?sink=service://Welcome/welcome", "", 200, `{"subscriptions":[{"id":"<b>","source":"kafka://cfg/events","sink":"service://Welcome/welcome","options":{"group.id":"g","client.id":"resolute"}}]}`, ""},
		{"list by source and sink", "GET", "/subscriptions?source=kafka://k1/orders&sink=service://Welcome/welcome", "", 200, `{"subscriptions":[]}`, ""},
		{"get", "GET", "/subscriptions/<b>", "", 200, `{"id":"<b>","source":"kafka://cfg/events","sink":"service://Welcome/welcome","options":{"group.id":"g","client.id":"resolute"}}`, ""},
		{"get unknown", "GET", "/subscriptions/sub_11111111111111111111111", "", 404, `{"message":"The requested subscription 'sub_11111111111111111111111' does not exist","restate_code":null}`, ""},
		{"get bad id", "GET", "/subscriptions/bogus", "", 400, "Invalid URL: Cannot parse `subscription` with value `bogus`: bad format", ""},
		{"cluster with its subscriptions", "GET", "/kafka-clusters/k1?include_subscriptions=true", "", 200, `{"name":"k1","properties":{"bootstrap.servers":"k2:9092"},"created_at":"TIME","subscriptions":[` +
			`{"id":"<a>","source":"kafka://k1/orders","sink":"service://Greeter/greet","options":{"auto.offset.reset":"earliest","resolute.max.in.flight":"10","group.id":"<a>","client.id":"resolute"}}]}`, ""},
		{"delete a cluster in use", "DELETE", "/kafka-clusters/k1", "", 409, `{"message":"Removing the kafka cluster 'k1' leads to subscription '<a>' being orphan. Remove the subscription first, or use the 'force' flag.","restate_code":null}`, ""},
		{"another on k1", "POST", "/subscriptions", `{"source":"kafka://k1/more","sink":"service://Greeter/count"}`, 201,
			`{"id":"<c>","source":"kafka://k1/more","sink":"service://Greeter/count","options":{"group.id":"<c>","client.id":"resolute"}}`, "c"},
		{"delete a cluster used twice", "DELETE", "/kafka-clusters/k1?force=false", "", 409, `{"message":"Removing the kafka cluster 'k1' leads to subscriptions '<a>', '<c>' being orphan. Remove the subscriptions first, or use the 'force' flag.","restate_code":null}`, ""},
		{"bad force", "DELETE", "/kafka-clusters/k1?force=yes", "", 400, "Failed to deserialize query string: force: provided string was not `true` or `false`", ""},
		{"delete a subscription", "DELETE", "/subscriptions/<c>", "", 202, "", ""},
		{"delete it again", "DELETE", "/subscriptions/<c>", "", 404, `{"message":"not found in the schema registry: subscription with id '<c>'","restate_code":null}`, ""},
		{"delete bad id", "DELETE", "/subscriptions/dp_11111111111111111111111", "", 400, "~Invalid URL: Cannot parse `subscription`", ""},
	}
	for _, st := range steps {
		path, want := st.path, st.want
		for name, id := range ids {
			path = strings.ReplaceAll(path, "<"+name+">", id)
			want = strings.ReplaceAll(want, "<"+name+">", id)
		}
		got := call(t, admin, st.method, path, st.body)
		if st.save != "" {
			var v struct{ ID string }
			_ = json.Unmarshal([]byte(got.body), &v)
			if !subIDPattern.MatchString(v.ID) || got.location != "subscriptions/"+v.ID {
				t.Fatalf("%s: id %q, location %q in %s", st.name, v.ID, got.location, got)
			}
			ids[st.save] = v.ID
			want = strings.ReplaceAll(want, "<"+st.save+">", v.ID)
		}
		if got.status != st.status || !matches(got.body, want) {
			t.Errorf("%s: %s %s:\n got %s\nwant %d %s", st.name, st.method, path, got, st.status, want)
		}
	}
	listed := call(t, admin, "GET", "/subscriptions", "")
	clusters := call(t, admin, "GET", "/kafka-clusters", "")
	s.Close()

	// Restarted on its data directory with cfg dropped from the configuration (kept: a
	// subscription reads from it) and cfg2 added.
	s = startServer(t, dir, []registry.KafkaCluster{{Name: "cfg2", Properties: map[string]string{"bootstrap.servers": "d:9092"}},
		{Name: "k1", Properties: map[string]string{"bootstrap.servers": "file:9092"}}})
	defer s.Close()
	admin = s.AdminURL()
	if got := call(t, admin, "GET", "/subscriptions", ""); got != listed {
		t.Errorf("subscriptions after the restart:\n%s\nbefore:\n%s", got, listed)
	}
	after := call(t, admin, "GET", "/kafka-clusters", "")
	byName := clustersByName(t, after)
	cfg2 := `{"name":"cfg2","properties":{"bootstrap.servers":"d:9092"},"created_at":"1970-01-01T00:00:00Z","info":[{"message":"` +
		`This Kafka cluster was configured in the configuration file ([[ingress.kafka-clusters]]): change or remove it there, the admin API cannot."}]}`
	before := clustersByName(t, clusters)
	k1 := strings.TrimSuffix(before["k1"], "}") + `,"info":[{"message":"A Kafka cluster with the same name is in the configuration file ([[ingress.kafka-clusters]]); this one, made through the admin API, is used: remove the file's."}]}`
	if clusterNames(t, after) != "cfg,cfg2,k1" || byName["cfg"] != before["cfg"] || !matches(byName["k1"], k1) || !matches(byName["cfg2"], cfg2) {
		t.Errorf("clusters after the restart:\n%s\nbefore:\n%s", after, clusters)
	}
	// Deleting the subscriptions frees k1 (deleted now) and cfg (gone at the next start).
	for _, id := range []string{ids["a"], ids["b"]} {
		if got := call(t, admin, "DELETE", "/subscriptions/"+id, ""); got.status != 202 {
			t.Errorf("delete %s: %s", id, got)
		}
	}
	if got := call(t, admin, "DELETE", "/kafka-clusters/k1", ""); got.status != 202 || got.body != "" {
		t.Errorf("delete k1: %s", got)
	}
	s.Close()
	s = startServer(t, dir, nil) // no configuration file: cfg and cfg2 stay as recorded
	names := clusterNames(t, call(t, s.AdminURL(), "GET", "/kafka-clusters", ""))
	s.Close()
	if names != "cfg,cfg2" {
		t.Errorf("clusters after a start without configuration: %s, want cfg,cfg2", names)
	}
	s = startServer(t, dir, []registry.KafkaCluster{})
	names = clusterNames(t, call(t, s.AdminURL(), "GET", "/kafka-clusters", ""))
	s.Close()
	if names != "" {
		t.Errorf("clusters after a start with a configuration naming none: %s, want none", names)
	}
}

// clustersByName returns each listed cluster's JSON by name.
func clustersByName(t *testing.T, a answer) map[string]string {
	t.Helper()
	var v struct{ Clusters []json.RawMessage }
	if err := json.Unmarshal([]byte(a.body), &v); err != nil || a.status != 200 {
		t.Fatalf("clusters: %s %v", a, err)
	}
	out := map[string]string{}
	for _, raw := range v.Clusters {
		var c struct{ Name string }
		_ = json.Unmarshal(raw, &c)
		out[c.Name] = string(raw)
	}
	return out
}

func clusterNames(t *testing.T, a answer) string {
	t.Helper()
	var v struct{ Clusters []struct{ Name string } }
	if err := json.Unmarshal([]byte(a.body), &v); err != nil || a.status != 200 {
		t.Fatalf("clusters: %s %v", a, err)
	}
	var names []string
	for _, c := range v.Clusters {
		names = append(names, c.Name)
	}
	return strings.Join(names, ",")
}

var timePattern = regexp.MustCompile(`"created_at":"20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:]{8}(\.[0-9]{9})?Z"`)

// matches compares got with want: JSON values compared as values, a created_at other than the
// epoch as "TIME"; want with prefix "~" is a part of the body; else the text.
func matches(got, want string) bool {
	if part, ok := strings.CutPrefix(want, "~"); ok {
		return strings.Contains(got, part)
	}
	var g, w any
	if json.Unmarshal([]byte(got), &g) != nil || json.Unmarshal([]byte(want), &w) != nil {
		// want in words: the message of a JSON error.
		var e struct {
			Message *string `json:"message"`
		}
		return got == want || json.Unmarshal([]byte(got), &e) == nil && e.Message != nil && *e.Message == want
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	return timePattern.ReplaceAllString(string(gb), `"created_at":"TIME"`) == timePattern.ReplaceAllString(string(wb), `"created_at":"TIME"`)
}
