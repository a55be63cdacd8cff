package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/resolute-run/resolute/runtime/ids"
)

// A cluster as the failover scenario sees it: which node leads each partition, and which
// partition a Counter key belongs to. Resolute answers both from GET /cluster-health and its
// own partitioning function; restate-server from restatectl's cluster tables (partition_state,
// partitions) and the admin API's SQL (the state table's partition_key).

// findRestatectl returns the restatectl binary to use: the one given, else restatectl on PATH,
// else compat/ts/node_modules/.bin/restatectl.
func findRestatectl(root, given string) (string, error) {
	if given != "" {
		if _, err := os.Stat(given); err != nil {
			return "", fmt.Errorf("--restatectl: %w", err)
		}
		return given, nil
	}
	if p, err := exec.LookPath("restatectl"); err == nil {
		return p, nil
	}
	p := filepath.Join(root, "compat/ts/node_modules/.bin/restatectl")
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("restatectl not found (the failover scenario reads the restate cluster's partition leaders with it): " +
		"install the version of restate-server, e.g. `npm install --prefix /tmp/restatectl @restatedev/restatectl@1.7.12`, " +
		"and pass --restatectl /tmp/restatectl/node_modules/.bin/restatectl")
}

// clusterHealth is the part of resolute's GET /cluster-health the bench reads.
type clusterHealth struct {
	Shards []struct {
		Partition *uint32 `json:"partition"`
		Leader    uint64  `json:"leader"`
		Term      uint64  `json:"term"`
	} `json:"shards"`
}

// raftTerms adds up the Raft terms of every shard as resolute's node 1 sees them (0 and no
// error for restate-server or a single node): a rise between two reads means elections.
func (s *server) raftTerms(ctx context.Context) (uint64, error) {
	if s.kind != "resolute" || len(s.nodes) == 1 {
		return 0, nil
	}
	var ch clusterHealth
	if err := getJSON(ctx, s.admin+"/cluster-health", &ch); err != nil {
		return 0, err
	}
	var sum uint64
	for _, sh := range ch.Shards {
		sum += sh.Term
	}
	return sum, nil
}

// partitionLeaders returns, as node via sees it, the number of partitions and the node (index
// into s.nodes) that leads each partition, -1 where it knows of none.
func (s *server) partitionLeaders(ctx context.Context, restatectl string, via *node) (int, []int, error) {
	switch s.kind {
	case "resolute":
		var ch clusterHealth
		if err := getJSON(ctx, via.admin+"/cluster-health", &ch); err != nil {
			return 0, nil, err
		}
		var parts []int
		for _, sh := range ch.Shards {
			if sh.Partition == nil {
				continue
			}
			p := int(*sh.Partition)
			for len(parts) <= p {
				parts = append(parts, -1)
			}
			parts[p] = int(sh.Leader) - 1 // node ids are 1..n, in s.nodes' order
			if sh.Leader == 0 || int(sh.Leader) > len(s.nodes) {
				parts[p] = -1
			}
		}
		if len(parts) == 0 {
			return 0, nil, fmt.Errorf("%s: GET /cluster-health lists no partition", via.name)
		}
		return len(parts), parts, nil
	case "restate":
		var names []struct {
			ID   string `json:"plain_node_id"`
			Name string `json:"name"`
		}
		if err := restatectlSQL(ctx, restatectl, via, "SELECT plain_node_id, name FROM nodes", &names); err != nil {
			return 0, nil, err
		}
		index := map[string]int{}
		for _, nm := range names {
			for i, nd := range s.nodes {
				if nd.name == nm.Name {
					index[nm.ID] = i
				}
			}
		}
		var table []struct {
			Partition int `json:"partition_id"`
		}
		if err := restatectlSQL(ctx, restatectl, via, "SELECT partition_id FROM partitions", &table); err != nil {
			return 0, nil, err
		}
		// Each alive partition processor's own report: a partition is led by the one node
		// whose processor runs as leader (two claims, during a hand-over, count as none).
		var states []struct {
			Partition int    `json:"partition_id"`
			Node      string `json:"plain_node_id"`
		}
		if err := restatectlSQL(ctx, restatectl, via, "SELECT partition_id, plain_node_id FROM partition_state WHERE effective_mode = 'leader' OR effective_mode = 'LEADER' OR effective_mode = 'Leader'", &states); err != nil {
			return 0, nil, err
		}
		parts := make([]int, len(table))
		for i := range parts {
			parts[i] = -1
		}
		claims := make([]int, len(table))
		for _, st := range states {
			i, ok := index[st.Node]
			if st.Partition < 0 || st.Partition >= len(parts) || !ok {
				continue
			}
			claims[st.Partition]++
			parts[st.Partition] = i
			if claims[st.Partition] > 1 {
				parts[st.Partition] = -1
			}
		}
		return len(parts), parts, nil
	}
	return 0, nil, fmt.Errorf("bench: unknown server %q", s.kind)
}

// counterPartitions returns the partition of each Counter key. Every key must have been called
// once (restate-server is asked where it stored the key's state).
func (s *server) counterPartitions(ctx context.Context, restatectl string, via *node, partitions int, keys []string) (map[string]int, error) {
	out := map[string]int{}
	switch s.kind {
	case "resolute":
		for _, k := range keys {
			out[k] = ids.KeyedPartitionKey("Counter", k).Partition(partitions)
		}
		return out, nil
	case "restate":
		var ranges []struct {
			Partition int         `json:"partition_id"`
			Start     json.Number `json:"start_key"`
			End       json.Number `json:"end_key"`
		}
		if err := restatectlSQL(ctx, restatectl, via, "SELECT partition_id, start_key, end_key FROM partitions", &ranges); err != nil {
			return nil, err
		}
		var rows struct {
			Rows []struct {
				Key          string      `json:"service_key"`
				PartitionKey json.Number `json:"partition_key"`
			} `json:"rows"`
		}
		q := `{"query":"SELECT service_key, partition_key FROM state WHERE service_name = 'Counter'"}`
		if err := postJSON(ctx, via.admin+"/query", q, &rows); err != nil {
			return nil, err
		}
		for _, row := range rows.Rows {
			pk, err := strconv.ParseUint(row.PartitionKey.String(), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("state of %s: partition key %q: %w", row.Key, row.PartitionKey, err)
			}
			for _, r := range ranges {
				lo, err1 := strconv.ParseUint(r.Start.String(), 10, 64)
				hi, err2 := strconv.ParseUint(r.End.String(), 10, 64)
				if err1 == nil && err2 == nil && lo <= pk && pk <= hi {
					out[row.Key] = r.Partition
				}
			}
		}
		for _, k := range keys {
			if _, ok := out[k]; !ok {
				return nil, fmt.Errorf("restate: no partition found for Counter key %s (%d state rows)", k, len(rows.Rows))
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("bench: unknown server %q", s.kind)
}

// restatectlSQL runs a query on the cluster tables through node via and decodes the JSON rows.
func restatectlSQL(ctx context.Context, restatectl string, via *node, query string, rows any) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, restatectl, "--address", "http://"+via.fabric, "sql", "--json", query)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("restatectl sql %q via %s: %w: %s", query, via.name, err, strings.TrimSpace(stderr.String()))
	}
	// The JSON array is followed by a line like "3 rows. Query took 40ms".
	out := stdout.Bytes()
	i, j := bytes.IndexByte(out, '['), bytes.LastIndexByte(out, ']')
	if i < 0 || j < i {
		return fmt.Errorf("restatectl sql %q via %s: no JSON array in %.300q", query, via.name, out)
	}
	dec := json.NewDecoder(bytes.NewReader(out[i : j+1]))
	dec.UseNumber()
	if err := dec.Decode(rows); err != nil {
		return fmt.Errorf("restatectl sql %q via %s: %w", query, via.name, err)
	}
	return nil
}

func getJSON(ctx context.Context, url string, v any) error {
	status, body, err := request(ctx, controlClient, http.MethodGet, url, "")
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("GET %s: status %d: %.200s", url, status, body)
	}
	return json.Unmarshal(body, v)
}

func postJSON(ctx context.Context, url, payload string, v any) error {
	return postJSONWith(ctx, controlClient, url, payload, v)
}

// postJSONWith is postJSON through client.
func postJSONWith(ctx context.Context, client *http.Client, url, payload string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(payload))
	if err != nil {
		return err
	}
	req.Header.Set("content-type", "application/json")
	req.Header.Set("accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST %s: status %d: %.200s", url, resp.StatusCode, buf.Bytes())
	}
	dec := json.NewDecoder(&buf)
	dec.UseNumber()
	return dec.Decode(v)
}

// waitSettled waits, for a resolute cluster, until no shard's Raft term has moved for three
// seconds (at most 30 s): right after start the placement loop moves leaders to spread them, and
// each move is an election that measurements should not include. It returns how long it waited.
func (s *server) waitSettled(ctx context.Context) (time.Duration, error) {
	t0 := time.Now()
	if s.kind != "resolute" || len(s.nodes) == 1 {
		return 0, nil
	}
	last, err := s.raftTerms(ctx)
	if err != nil {
		return 0, err
	}
	stable := t0
	for time.Since(t0) < 30*time.Second && ctx.Err() == nil {
		time.Sleep(500 * time.Millisecond)
		terms, err := s.raftTerms(ctx)
		if err != nil {
			return time.Since(t0), err
		}
		if terms != last {
			last, stable = terms, time.Now()
		}
		if time.Since(stable) >= 3*time.Second {
			return time.Since(t0), nil
		}
	}
	return time.Since(t0), fmt.Errorf("Raft terms still moving after %v", time.Since(t0).Round(time.Second))
}
