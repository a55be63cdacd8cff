package cluster

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/resolute-run/resolute/tests/testenv"
)

// TestQueryOnThreeNodes: with one replica per partition, each node holds only some partitions;
// POST /query on any node reads every partition (the others through remoting) and gives the
// same answer: every invocation and every key's state, wherever it was made.
func TestQueryOnThreeNodes(t *testing.T) {
	nodes := startCluster(t, 3, "--replication-factor", "1")
	uri := testenv.ServeH2C(t, counter().Handler())
	if _, err := testenv.Register(nodes[0].Admin, uri); err != nil {
		t.Fatalf("register through node 1: %v", err)
	}
	for i, s := range nodes {
		testenv.WaitReady(t, fmt.Sprintf("node %d knows the service", i+1), 30*time.Second, func() error {
			return testenv.ExpectStatus(testenv.HTTPClient, s.Admin+"/services/Counter", http.StatusOK)
		}, s.Proc())
	}
	const keys = 12
	var want, invocations []string
	for k := range keys {
		s := nodes[k%3]
		r, err := testenv.Invoke(s.Ingress, fmt.Sprintf("/Counter/k%02d/add", k), fmt.Sprint(k+1))
		if err != nil || r.Status != http.StatusOK || r.Header.Get("x-restate-id") == "" {
			t.Fatalf("add to k%02d through node %d: %v %v", k, k%3+1, r, err)
		}
		want = append(want, fmt.Sprintf("k%02d=%d", k, k+1))
		invocations = append(invocations, r.Header.Get("x-restate-id"))
	}
	for i, s := range nodes {
		rows := clusterQuery(t, s.Admin, `SELECT service_key, value_utf8 FROM state WHERE service_name = 'Counter' ORDER BY service_key`)
		var got []string
		for _, r := range rows {
			got = append(got, fmt.Sprintf("%v=%v", r["service_key"], r["value_utf8"]))
		}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("state through node %d:\n got %v\nwant %v", i+1, got, want)
		}
		counts := clusterQuery(t, s.Admin, `SELECT status, COUNT(*) AS n, COUNT(DISTINCT target_service_key) AS k FROM sys_invocation WHERE target_service_name = 'Counter' GROUP BY status`)
		if len(counts) != 1 || counts[0]["status"] != "completed" || counts[0]["n"] != float64(keys) || counts[0]["k"] != float64(keys) {
			t.Errorf("invocations through node %d: %v, want %d completed on %d keys", i+1, counts, keys, keys)
		}
		// One invocation by id (its partition alone is read, on the node that leads it).
		for k, id := range invocations {
			one := clusterQuery(t, s.Admin, `SELECT i.target, COUNT(j.index) AS entries FROM sys_invocation i JOIN sys_journal j ON j.id = i.id WHERE i.id = '`+id+`' AND j.id = '`+id+`' GROUP BY i.target`)
			if len(one) != 1 || one[0]["target"] != fmt.Sprintf("Counter/k%02d/add", k) || one[0]["entries"].(float64) < 4 {
				t.Errorf("invocation %s through node %d: %v, want Counter/k%02d/add with its journal", id, i+1, one, k)
			}
		}
	}
}

func clusterQuery(t *testing.T, admin, q string) []map[string]any {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"query": q})
	req, _ := http.NewRequest("POST", admin+"/query", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := testenv.HTTPClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var res struct{ Rows []map[string]any }
	if resp.StatusCode != 200 || json.Unmarshal(data, &res) != nil {
		t.Fatalf("%s: %d %s", q, resp.StatusCode, data)
	}
	return res.Rows
}
