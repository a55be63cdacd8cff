//go:build linux

package chaos

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/resolute-run/resolute/chaos/deployment"
	"github.com/resolute-run/resolute/internal/faultproxy"
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

// node is one `resolute server` process and its addresses. In a cluster
// the other nodes reach its Raft and remoting listeners through proxies
// (internal/faultproxy): cutting them isolates it.
type node struct {
	id             int // from 1
	svc            *service
	ingress, admin string // base URLs
	proxies        []*faultproxy.Proxy
}

// cut drops every connection into the node from the other nodes and
// black-holes new ones until heal: its Raft peers and remote callers no
// longer reach it, and no answer of theirs does (Raft's CheckQuorum makes a
// leader cut off this way step down).
func (n *node) cut() {
	for _, p := range n.proxies {
		p.Cut()
	}
}

func (n *node) heal() {
	for _, p := range n.proxies {
		p.Heal()
	}
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

// startSystem starts the deployments and the nodes on free ports and
// registers the deployments. Ports are chosen free but released before the
// processes bind them, so on a busy machine another process (a parallel
// test, an outgoing connection's ephemeral port) can take one: then the
// whole system starts again on new ports, with empty data, up to three times.
func startSystem(ctx context.Context, cfg Config) (*system, error) {
	for attempt := 1; ; attempt++ {
		s, err := startSystemOnce(ctx, cfg)
		if err == nil || !errors.Is(err, errPortTaken) || attempt == 3 {
			return s, err
		}
		logf(cfg, "start again on new ports: %v", err)
		for _, sub := range []string{"data", "logs", "exec.log"} {
			if err := os.RemoveAll(filepath.Join(cfg.WorkDir, sub)); err != nil {
				return nil, fmt.Errorf("chaos: clear work dir for a new start: %w", err)
			}
		}
	}
}

func startSystemOnce(ctx context.Context, cfg Config) (*system, error) {
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
	if s.nodes, err = newNodes(cfg, logDir, ports[2:]); err != nil {
		s.close()
		return nil, err
	}
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

// nodePorts is the number of ports a node listens on: ingress, admin, and
// in a cluster Raft and remoting.
const nodePorts = 4

// newNodes describes the server's nodes on ports (nodePorts each): one
// server alone when cfg.Nodes is at most 1, else a cluster whose members
// name each other by the addresses of the proxies in front of their Raft
// and remoting listeners (--raft-addr, --remote-addr, --peers; they listen
// on --raft-listen-addr and --remote-listen-addr).
func newNodes(cfg Config, logDir string, ports []int) ([]*node, error) {
	n := max(cfg.Nodes, 1)
	nodes := make([]*node, n)
	for i := range n {
		p := ports[i*nodePorts : (i+1)*nodePorts]
		nd := &node{id: i + 1, ingress: "http://" + proc.Addr(p[0]), admin: "http://" + proc.Addr(p[1])}
		nodes[i] = nd
		if n == 1 {
			break
		}
		for _, port := range p[2:] {
			px, err := faultproxy.Start(proc.Addr(port))
			if err != nil {
				closeProxies(nodes)
				return nil, fmt.Errorf("chaos: %w", err)
			}
			nd.proxies = append(nd.proxies, px)
		}
	}
	var peers []string
	for _, nd := range nodes {
		if len(nd.proxies) > 0 {
			peers = append(peers, fmt.Sprintf("%d@%s", nd.id, nd.proxies[0].Addr()))
		}
	}
	for i, nd := range nodes {
		p := ports[i*nodePorts : (i+1)*nodePorts]
		// Retries capped at 1s keep the recovery after a deployment kill short.
		args := []string{"server", "--data-dir", filepath.Join(cfg.WorkDir, "data"),
			"--ingress-addr", proc.Addr(p[0]), "--admin-addr", proc.Addr(p[1]),
			"--retry-initial-interval", "50ms", "--retry-max-interval", "1s"}
		name := "server"
		if n > 1 {
			name = fmt.Sprintf("node%d", nd.id)
			args[2] = filepath.Join(cfg.WorkDir, "data", name)
			args = append(args, "--node-id", fmt.Sprint(nd.id),
				"--raft-addr", nd.proxies[0].Addr(), "--raft-listen-addr", proc.Addr(p[2]),
				"--remote-addr", nd.proxies[1].Addr(), "--remote-listen-addr", proc.Addr(p[3]),
				"--peers", strings.Join(peers, ","), "--partitions", fmt.Sprint(clusterPartitions))
		}
		args = append(args, cfg.ServerArgs...)
		nd.svc = &service{name: name, bin: cfg.ServerBin, logDir: logDir, args: args, ready: nd.ready}
	}
	return nodes, nil
}

func closeProxies(nodes []*node) {
	for _, nd := range nodes {
		if nd == nil {
			continue
		}
		for _, p := range nd.proxies {
			_ = p.Close()
		}
	}
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
	closeProxies(s.nodes)
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
