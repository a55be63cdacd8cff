package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/resolute-run/resolute/internal/proc"
)

// officialServerBin is the official restate-server installed by npm ci in compat/ts.
const officialServerBin = "compat/ts/node_modules/@restatedev/restate-server-linux-x64/bin/restate-server"

// serverReadyTimeout covers a cold start, including recovery after SIGKILL.
const serverReadyTimeout = 90 * time.Second

// server is one runtime under test (ours or the official one), one process or a cluster of
// several, that keeps its data directories and ports across kill and restart.
type server struct {
	kind      string   // "resolute" or "restate"
	ingress   string   // node 1's base URLs, no trailing slash
	admin     string   //
	ingresses []string // every node's ingress, node 1's first
	dataDir   string   // node 1's
	logDir    string
	nodes     []*node
	// partitions is --partitions as given (0: the server's default).
	partitions int
	starts     int
}

// node is one server process of a server.
type node struct {
	id      int // 1-based
	name    string
	ingress string
	admin   string
	// fabric is the node-to-node address: resolute's Raft address, restate's advertised address.
	fabric string
	// remote is resolute's actor-remoting address (--remote-addr), used when the binary has it.
	remote  string
	dataDir string
	logPath string
	command func() *exec.Cmd
	proc    *proc.Proc
}

// newServer prepares (does not start) a server of the given kind with cfg.nodes processes.
func newServer(cfg *config, kind, dir string) (*server, error) {
	n := max(cfg.nodes, 1)
	ports, err := proc.FreePorts(4 * n)
	if err != nil {
		return nil, err
	}
	s := &server{kind: kind, logDir: dir, partitions: cfg.partitions}
	for i := range n {
		nd := &node{id: i + 1, name: fmt.Sprintf("n%d", i+1), ingress: "http://" + proc.Addr(ports[4*i]),
			admin: "http://" + proc.Addr(ports[4*i+1]), fabric: proc.Addr(ports[4*i+2]), remote: proc.Addr(ports[4*i+3]),
			dataDir: filepath.Join(dir, "data"), logPath: filepath.Join(dir, kind+".log")}
		if n > 1 {
			nd.dataDir = filepath.Join(dir, "data-"+nd.name)
			nd.logPath = filepath.Join(dir, kind+"-"+nd.name+".log")
		}
		if err := os.MkdirAll(nd.dataDir, 0o755); err != nil {
			return nil, err
		}
		s.nodes = append(s.nodes, nd)
		s.ingresses = append(s.ingresses, nd.ingress)
	}
	s.ingress, s.admin, s.dataDir = s.nodes[0].ingress, s.nodes[0].admin, s.nodes[0].dataDir
	for _, nd := range s.nodes {
		switch kind {
		case "resolute":
			nd.command = resoluteCommand(cfg, s, nd)
		case "restate":
			if n == 1 && cfg.kafkaSrc == nil {
				nd.command = restateCommand(cfg, nd, nil, true)
				continue
			}
			if n == 1 {
				// Environment variables configure the node; the file adds the Kafka cluster.
				path := filepath.Join(dir, "restate-kafka.toml")
				if err := os.WriteFile(path, []byte(restateKafkaConfig(cfg.kafkaSrc.brokers)), 0o644); err != nil {
					return nil, err
				}
				nd.command = restateCommand(cfg, nd, []string{"--config-file", path}, true)
				continue
			}
			config := restateClusterConfig(s, nd)
			if cfg.kafkaSrc != nil {
				config += "\n" + restateKafkaConfig(cfg.kafkaSrc.brokers)
			}
			path := filepath.Join(dir, "restate-"+nd.name+".toml")
			if err := os.WriteFile(path, []byte(config), 0o644); err != nil {
				return nil, err
			}
			nd.command = restateCommand(cfg, nd, []string{"--config-file", path}, false)
		default:
			return nil, fmt.Errorf("bench: unknown server %q (want resolute or restate)", kind)
		}
	}
	return s, nil
}

func resoluteCommand(cfg *config, s *server, nd *node) func() *exec.Cmd {
	args := []string{"server", "--data-dir", nd.dataDir, "--ingress-addr", strings.TrimPrefix(nd.ingress, "http://"),
		"--admin-addr", strings.TrimPrefix(nd.admin, "http://"), "--log-level", "warn"}
	if len(s.nodes) > 1 {
		var peers []string
		for _, p := range s.nodes {
			peers = append(peers, fmt.Sprintf("%d@%s", p.id, p.fabric))
		}
		args = append(args, "--node-id", fmt.Sprint(nd.id), "--raft-addr", nd.fabric, "--peers", strings.Join(peers, ","))
		if cfg.resoluteRemote {
			args = append(args, "--remote-addr", nd.remote)
		}
	}
	if s.partitions > 0 {
		args = append(args, "--partitions", fmt.Sprint(s.partitions))
	}
	return func() *exec.Cmd { return exec.Command(cfg.resoluteBin, args...) }
}

// restateCommand runs the official server: a single node is configured by environment
// variables (single; args may add a config file with Kafka clusters), a cluster node by its
// config file (args) plus the same logging settings.
func restateCommand(cfg *config, nd *node, args []string, single bool) func() *exec.Cmd {
	return func() *exec.Cmd {
		cmd := exec.Command(filepath.Join(cfg.root, officialServerBin), args...)
		cmd.Env = append(os.Environ(), "RESTATE_LOG_DISABLE_ANSI_CODES=true", "RESTATE_LOG_FILTER=warn")
		if single {
			cmd.Env = append(cmd.Env,
				"RESTATE_BASE_DIR="+nd.dataDir,
				"RESTATE_INGRESS__BIND_ADDRESS="+strings.TrimPrefix(nd.ingress, "http://"),
				"RESTATE_ADMIN__BIND_ADDRESS="+strings.TrimPrefix(nd.admin, "http://"),
				"RESTATE_BIND_ADDRESS="+nd.fabric,
				"RESTATE_ADVERTISED_ADDRESS=http://"+nd.fabric,
				"RESTATE_LISTEN_MODE=tcp")
			if cfg.partitions > 0 {
				cmd.Env = append(cmd.Env, fmt.Sprintf("RESTATE_DEFAULT_NUM_PARTITIONS=%d", cfg.partitions))
			}
		}
		return cmd
	}
}

// restateReplication is the cluster's default-replication (log and partition processors):
// two copies of every log record, so three nodes tolerate one node's failure, as Restate's
// cluster deployment guide sets it (with three copies, one dead node of three would stop
// every log from accepting writes).
const restateReplication = 2

// restateClusterConfig is one node's restate-server config file for a cluster on loopback:
// every node runs every role (metadata server, admin, worker, log server, ingress), the
// metadata store is the replicated (Raft) metadata server on all nodes, logs use the
// replicated loglet, and node 1 provisions the cluster.
func restateClusterConfig(s *server, nd *node) string {
	var addrs []string
	for _, p := range s.nodes {
		addrs = append(addrs, fmt.Sprintf("%q", "http://"+p.fabric))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "node-name = %q\ncluster-name = \"bench\"\nbase-dir = %q\nauto-provision = %v\n", nd.name, nd.dataDir, nd.id == 1)
	fmt.Fprintf(&b, "default-replication = %d\nlisten-mode = \"tcp\"\nbind-address = %q\nadvertised-address = %q\n",
		restateReplication, nd.fabric, "http://"+nd.fabric)
	if s.partitions > 0 {
		fmt.Fprintf(&b, "default-num-partitions = %d\n", s.partitions)
	}
	fmt.Fprintf(&b, "\n[bifrost]\ndefault-provider = \"replicated\"\n\n[metadata-server]\ntype = \"replicated\"\n\n")
	fmt.Fprintf(&b, "[metadata-client]\naddresses = [%s]\n\n", strings.Join(addrs, ", "))
	fmt.Fprintf(&b, "[admin]\nbind-address = %q\n\n[ingress]\nbind-address = %q\n",
		strings.TrimPrefix(nd.admin, "http://"), strings.TrimPrefix(nd.ingress, "http://"))
	return b.String()
}

// start launches every node's process, then waits until each node's APIs answer (a cluster's
// nodes need each other to elect leaders, so all are started before any is waited for).
func (s *server) start() error {
	s.starts++
	for _, nd := range s.nodes {
		if err := nd.launch(s.kind); err != nil {
			return err
		}
	}
	for _, nd := range s.nodes {
		if err := nd.waitUp(s.label(nd)); err != nil {
			return err
		}
	}
	return nil
}

// label names a node in messages: the server's kind, and the node's name in a cluster.
func (s *server) label(nd *node) string {
	if len(s.nodes) == 1 {
		return s.kind
	}
	return s.kind + " " + nd.name
}

// launch starts the node's process, appending to its log.
func (nd *node) launch(kind string) error {
	p, err := proc.Start(kind+"-"+nd.name, nd.command(), nd.logPath, proc.Append)
	if err != nil {
		return err
	}
	nd.proc = p
	return nil
}

// waitUp waits until the node's admin and ingress health endpoints answer 200.
func (nd *node) waitUp(what string) error {
	if err := waitReady(what+" admin", serverReadyTimeout, nd.proc, func() error { return expectGet(nd.admin + "/health") }); err != nil {
		return err
	}
	return waitReady(what+" ingress", serverReadyTimeout, nd.proc, func() error { return expectGet(nd.ingress + "/restate/health") })
}

// alive reports whether the node's process runs.
func (nd *node) alive() bool {
	if nd.proc == nil {
		return false
	}
	gone, _ := nd.proc.Exited()
	return !gone
}

// kill is a crash: SIGKILL to every node's process group.
func (s *server) kill() {
	for _, nd := range s.nodes {
		if nd.proc != nil {
			nd.proc.Kill()
		}
	}
}

// stop ends every node (SIGTERM, then SIGKILL), all at once.
func (s *server) stop() {
	var wg sync.WaitGroup
	for _, nd := range s.nodes {
		if nd.proc != nil {
			wg.Go(func() { _, _ = nd.proc.Terminate(10 * time.Second) })
		}
	}
	wg.Wait()
}

// exited returns an error naming every node whose process has ended, with its log's tail.
func (s *server) exited() error {
	var errs []error
	for _, nd := range s.nodes {
		if nd.proc == nil {
			continue
		}
		if gone, perr := nd.proc.Exited(); gone {
			errs = append(errs, fmt.Errorf("%s %s exited (%v); log tail:\n%s", s.kind, nd.name, perr, logTail(nd.proc)))
		}
	}
	return errors.Join(errs...)
}

// register POSTs the deployment to node 1's admin API.
func (s *server) register(uri string) error {
	payload, _ := json.Marshal(map[string]string{"uri": uri})
	resp, err := controlClient.Post(s.admin+"/deployments", "application/json", bytes.NewReader(payload))
	if err != nil {
		return fmt.Errorf("register %s on %s: %w", uri, s.kind, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		return fmt.Errorf("register %s on %s: status %d: %s", uri, s.kind, resp.StatusCode, body)
	}
	return nil
}

// rssKiB reads VmRSS of every node's process from /proc and adds them up.
func (s *server) rssKiB() (int64, error) {
	var sum int64
	for _, nd := range s.nodes {
		kib, err := rssKiB(nd.proc.Pid())
		if err != nil {
			return 0, err
		}
		sum += kib
	}
	return sum, nil
}
