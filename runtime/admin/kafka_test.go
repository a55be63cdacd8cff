package admin_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/resolute-run/resolute/runtime/admin"
)

// TestKafkaRoutesWithoutKafka: without the Kafka dependencies each Kafka route answers 503 in
// the admin error shape, and GET /openapi describes every Kafka route as restate-server does.
func TestKafkaRoutesWithoutKafka(t *testing.T) {
	srv := httptest.NewServer(admin.New(admin.Config{}, admin.Deps{}))
	defer srv.Close()
	routes := []struct{ method, path string }{
		{"GET", "/kafka-clusters"}, {"POST", "/kafka-clusters"}, {"GET", "/kafka-clusters/k"}, {"PATCH", "/kafka-clusters/k"},
		{"DELETE", "/kafka-clusters/k"}, {"GET", "/subscriptions"}, {"POST", "/subscriptions"},
		{"GET", "/subscriptions/sub_11111111111111111111111"}, {"DELETE", "/subscriptions/sub_11111111111111111111111"},
	}
	for _, rt := range routes {
		req, _ := http.NewRequest(rt.method, srv.URL+rt.path, strings.NewReader(`{}`))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var e struct{ Message string }
		err = json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable || err != nil || !strings.Contains(e.Message, "Kafka clusters and subscriptions are not available") {
			t.Errorf("%s %s: %d %q %v", rt.method, rt.path, resp.StatusCode, e.Message, err)
		}
	}
	resp, err := http.Get(srv.URL + "/openapi")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct {
		Paths map[string]map[string]struct {
			OperationID string `json:"operationId"`
		} `json:"paths"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	var ops []string
	for _, p := range []string{"/kafka-clusters", "/kafka-clusters/{cluster_name}", "/subscriptions", "/subscriptions/{subscription}"} {
		for _, op := range doc.Paths[p] {
			ops = append(ops, op.OperationID)
		}
	}
	slices.Sort(ops)
	want := []string{"create_kafka_cluster", "create_subscription", "delete_kafka_cluster", "delete_subscription", "get_kafka_cluster",
		"get_subscription", "list_kafka_clusters", "list_subscriptions", "update_kafka_cluster"}
	if !slices.Equal(ops, want) {
		t.Errorf("openapi operations %v, want %v", ops, want)
	}
}
