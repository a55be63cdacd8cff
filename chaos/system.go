//go:build linux

package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/resolute-run/resolute/chaos/deployment"
	"github.com/resolute-run/resolute/internal/proc"
)

// system is the server's nodes (one, or a cluster of Config.Nodes) and the
// two deployment processes: one serves Counter, the other Workflowish, whose
// handlers call Counter; so a kill of one deployment hits the caller or the
// callee of a call between services.
type system struct {
	nodes             []*node
	counter, workflow *service
	deploymentURIs    []string
	execLog           string
}

// node is one `resolute server` process and its addresses.
type node struct {
	id             int // from 1
	svc            *service
	ingress, admin string // base URLs
}

func (s *system) all() []*service {
	all := []*service{s.counter, s.workflow}
	for _, n := range s.nodes {
		all = append(all, n.svc)
	}
	return all
}

// ingresses are the base URLs of every node's ingress.
func (s *system) ingresses() []string {
	var urls []string
	for _, n := range s.nodes {
		urls = append(urls, n.ingress)
	}
	return urls
}

// clustered reports whether the nodes form a cluster (more than one).
func (s *system) clustered() bool { return len(s.nodes) > 1 }

func startSystem(ctx context.Context, cfg Config) (*system, error) {
	nodes := max(cfg.Nodes, 1)
	ports, err := proc.FreePorts(2 + nodes*nodePorts)
	if err != nil {
		return nil, fmt.Errorf("chaos: %w", err)
	}
	logDir := filepath.Join(cfg.WorkDir, "logs")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return nil, err
	}
	s := &system{execLog: filepath.Join(cfg.WorkDir, "exec.log")}
	// Both deployments append to one execution log (O_APPEND, one write per
	// record); a step only ever runs in the process serving its service.
	dep := func(name, svcName string, port int) *service {
		uri := "http://" + proc.Addr(port)
		s.deploymentURIs = append(s.deploymentURIs, uri)
		return &service{name: name, bin: cfg.DeploymentBin, logDir: logDir,
			args:  []string{"--addr", proc.Addr(port), "--exec-log", s.execLog, "--services", svcName},
			ready: func(ctx context.Context) error { return expect200(ctx, uri+"/health") }}
	}
	s.counter = dep("counter", deployment.CounterName, ports[0])
	s.workflow = dep("workflowish", deployment.WorkflowName+","+deployment.PromisedName, ports[1])
	s.nodes = newNodes(cfg, logDir, ports[2:])
	for _, svc := range []*service{s.counter, s.workflow} {
		if err := svc.start(ctx, startupTimeout); err != nil {
			s.close()
			return nil, err
		}
	}
	// The nodes of a cluster start together: none is ready before a quorum
	// of them runs.
	if err := startAll(ctx, s.nodeServices()); err != nil {
		s.close()
		return nil, err
	}
	if err := s.register(ctx); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

// nodePorts is the number of ports a node listens on: ingress, admin, Raft.
const nodePorts = 3

// newNodes describes the server's nodes on ports (nodePorts each): one
// server alone when cfg.Nodes is at most 1, else a cluster whose members
// name each other by their Raft addresses.
func newNodes(cfg Config, logDir string, ports []int) []*node {
	n := max(cfg.Nodes, 1)
	var peers []string
	for i := range n {
		peers = append(peers, fmt.Sprintf("%d@%s", i+1, proc.Addr(ports[i*nodePorts+2])))
	}
	nodes := make([]*node, n)
	for i := range n {
		p := ports[i*nodePorts : (i+1)*nodePorts]
		nd := &node{id: i + 1, ingress: "http://" + proc.Addr(p[0]), admin: "http://" + proc.Addr(p[1])}
		// Retries capped at 1s keep the recovery after a deployment kill short.
		args := []string{"server", "--data-dir", filepath.Join(cfg.WorkDir, "data"),
			"--ingress-addr", proc.Addr(p[0]), "--admin-addr", proc.Addr(p[1]),
			"--retry-initial-interval", "50ms", "--retry-max-interval", "1s"}
		name := "server"
		if n > 1 {
			name = fmt.Sprintf("node%d", i+1)
			args[2] = filepath.Join(cfg.WorkDir, "data", name)
			args = append(args, "--node-id", fmt.Sprint(i+1), "--raft-addr", proc.Addr(p[2]),
				"--peers", strings.Join(peers, ","), "--partitions", fmt.Sprint(clusterPartitions))
		}
		args = append(args, cfg.ServerArgs...)
		nd.svc = &service{name: name, bin: cfg.ServerBin, logDir: logDir, args: args, ready: nd.ready}
		nodes[i] = nd
	}
	return nodes
}

// clusterPartitions is the number of partitions of a cluster: enough that
// every node leads some, few enough that a 2-core machine runs three nodes.
const clusterPartitions = 4

// ready reports whether the node answers on both ports; a node of a
// cluster answers 200 once every partition has a leader.
func (n *node) ready(ctx context.Context) error {
	if err := expect200(ctx, n.admin+"/health"); err != nil {
		return err
	}
	return expect200(ctx, n.ingress+"/restate/health")
}

func (s *system) nodeServices() []*service {
	var svcs []*service
	for _, n := range s.nodes {
		svcs = append(svcs, n.svc)
	}
	return svcs
}

// startAll launches svcs, then waits for each to be ready.
func startAll(ctx context.Context, svcs []*service) error {
	for _, svc := range svcs {
		if err := svc.launch(); err != nil {
			return err
		}
	}
	for _, svc := range svcs {
		if err := svc.waitReady(ctx, startupTimeout); err != nil {
			return err
		}
	}
	return nil
}

// register adds the deployments through the first node's admin API and
// waits until every node's ingress routes to both services (the Workflowish
// probe calls Counter/probe/add with delta 0; the key probe is not one the
// checks read). In a cluster the registration reaches the other nodes
// through the metadata shard.
func (s *system) register(ctx context.Context) error {
	for _, uri := range s.deploymentURIs {
		body := strings.NewReader(fmt.Sprintf(`{"uri":%q}`, uri))
		resp, err := probeClient.Post(s.nodes[0].admin+"/deployments", "application/json", body)
		if err != nil {
			return fmt.Errorf("chaos: register deployment %s: %w", uri, err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			return fmt.Errorf("chaos: register deployment %s: status %d: %s", uri, resp.StatusCode, data)
		}
	}
	for _, n := range s.nodes {
		c := newClient([]string{n.ingress}, time.Now())
		probes := map[string]any{
			"/" + deployment.CounterName + "/probe/get": nil,
			"/" + deployment.WorkflowName + "/run":      deployment.FlowIn{ID: "probe", Key: "probe"},
		}
		for path, in := range probes {
			err := waitFor(ctx, startupTimeout, fmt.Sprintf("route to %s through %s", path, n.svc.name), func() error {
				if a := c.post(ctx, path, in, ""); !a.ok() {
					return fmt.Errorf("probe: %v", a)
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *system) close() {
	for _, svc := range s.all() {
		if svc != nil && svc.cur != nil {
			_, _ = svc.cur.Terminate(10 * time.Second)
		}
	}
}

// leading counts, by node id, the partitions each node leads as n sees
// them (GET /cluster-health on its admin port).
func (n *node) leading(ctx context.Context) (map[int]int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, n.admin+"/cluster-health", nil)
	if err != nil {
		return nil, err
	}
	resp, err := probeClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cluster health of %s: %w", n.svc.name, err)
	}
	defer resp.Body.Close()
	var body struct {
		Shards []struct {
			Partition *uint32 `json:"partition"`
			Leader    int     `json:"leader"`
		} `json:"shards"`
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("cluster health of %s: status %d", n.svc.name, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("cluster health of %s: %w", n.svc.name, err)
	}
	led := map[int]int{}
	for _, sh := range body.Shards {
		if sh.Partition != nil && sh.Leader > 0 {
			led[sh.Leader]++
		}
	}
	return led, nil
}

// pickNode draws the node to fault, among those leading a partition (the
// fault then moves leadership) when the cluster says which; it returns the
// node and how many partitions it led.
func (s *system) pickNode(ctx context.Context, rng *rand.Rand) (id, led int) {
	var counts map[int]int
	for _, n := range s.nodes {
		if c, err := n.leading(ctx); err == nil {
			counts = c
			break
		}
	}
	var leaders []int
	for _, n := range s.nodes {
		if counts[n.id] > 0 {
			leaders = append(leaders, n.id)
		}
	}
	if len(leaders) == 0 {
		id = 1 + rng.IntN(len(s.nodes))
		return id, counts[id]
	}
	id = leaders[rng.IntN(len(leaders))]
	return id, counts[id]
}
