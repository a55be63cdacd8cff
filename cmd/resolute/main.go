// Command resolute runs the Resolute server.
//
//	resolute server [--data-dir DIR] [--ingress-addr HOST:PORT] [--admin-addr HOST:PORT]
//	                [--pg-addr HOST:PORT]
//	                [--admin-tokens-file FILE] [--ingress-tokens-file FILE]
//	                [--request-identity-private-key-pem-file FILE]
//	resolute dev    (the server plus the example services, registered in-process)
//	resolute journal export --id inv_… [--admin URL] [-o FILE]  (a journal for sdk/replay)
package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/resolute-run/resolute/actors/partition"
	"github.com/resolute-run/resolute/examples/foodorder"
	"github.com/resolute-run/resolute/examples/greeter"
	"github.com/resolute-run/resolute/examples/tickets"
	"github.com/resolute-run/resolute/runtime/identity"
	"github.com/resolute-run/resolute/runtime/invoker"
	"github.com/resolute-run/resolute/runtime/raftlog"
	"github.com/resolute-run/resolute/runtime/server"
	"github.com/resolute-run/resolute/runtime/tracing"
)

func main() {
	if err := rootCommand().Execute(); err != nil {
		os.Exit(1)
	}
}

type serverFlags struct {
	dataDir, ingressAddr, adminAddr, raftAddr, logDB, logLevel, cpuProfile string
	raftListenAddr, remoteAddr, remoteListenAddr                           string
	requestIdentityKey                                                     string
	tracingEndpoint                                                        string
	pgAddr                                                                 string
	partitions                                                             int
	maxBody                                                                int64
	retryInitial, retryMax, inactivity                                     time.Duration
	retryMaxAttempts                                                       int
	retryOnMaxAttempts                                                     string
	maxProtocol                                                            int
	maxQueuedProposals, maxCallsInFlight                                   int
	nodeID                                                                 uint64
	join                                                                   bool
	disableEagerState                                                      bool
	peers                                                                  string
	replicationFactor                                                      int
	snapshotEntries, compactionOverhead                                    uint64
}

func (f *serverFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.dataDir, "data-dir", "./resolute-data", "directory for the Raft log and all state")
	fl.StringVar(&f.ingressAddr, "ingress-addr", "127.0.0.1:8080", "ingress HTTP listen address")
	fl.StringVar(&f.adminAddr, "admin-addr", "127.0.0.1:9070", "admin HTTP listen address")
	fl.StringVar(&f.pgAddr, "pg-addr", "",
		"PostgreSQL wire listen address of the introspection SQL (psql -h HOST -p PORT), as earlier restate-server releases' admin.query-engine.pgsql-bind-address (port 9071); empty: off")
	fl.StringVar(&f.raftAddr, "raft-addr", "", "Raft address (empty: single node, no Raft port)")
	fl.StringVar(&f.raftListenAddr, "raft-listen-addr", "", "where the Raft transport listens, when --raft-addr is the address other nodes dial (a proxy or NAT in between; empty: --raft-addr)")
	fl.StringVar(&f.remoteAddr, "remote-addr", "", "actor-remoting address, published to the other nodes: requests for partitions led elsewhere go there (empty: no remoting; every node must then hold every partition)")
	fl.StringVar(&f.remoteListenAddr, "remote-listen-addr", "", "where remoting listens, when --remote-addr is the address other nodes dial (empty: --remote-addr)")
	fl.Uint64Var(&f.nodeID, "node-id", 1, "this node's id in the cluster (the replica id on every shard)")
	fl.StringVar(&f.peers, "peers", "", "the cluster's initial members by Raft address, this node included: 1@127.0.0.1:7001,2@127.0.0.1:7002,3@127.0.0.1:7003 (empty: a single node)")
	fl.BoolVar(&f.join, "join", false, "this node joins the running cluster as a new member (a new --node-id, not in --peers, which names the initial members): add it first with POST /cluster/nodes on a member's admin API, which records the shards it joins in the metadata shard")
	fl.IntVar(&f.replicationFactor, "replication-factor", 0, "replicas of each partition (0: every member; fewer needs --remote-addr)")
	fl.IntVar(&f.partitions, "partitions", 8, "number of partitions (fixed when the data directory is created)")
	fl.StringVar(&f.logDB, "logdb-size", "tiny", "Raft log memory budget: tiny (256 MiB), small (1 GiB), medium (4 GiB)")
	fl.Uint64Var(&f.snapshotEntries, "snapshot-entries", raftlog.DefaultSnapshotEntries, "Raft snapshot interval in log entries; the log is compacted after each snapshot")
	fl.Uint64Var(&f.compactionOverhead, "compaction-overhead", 0, "log entries kept before a snapshot when compacting (0: half the snapshot interval)")
	fl.Int64Var(&f.maxBody, "max-body-size", 10<<20, "largest accepted ingress request body, in bytes")
	fl.DurationVar(&f.retryInitial, "retry-initial-interval", 100*time.Millisecond, "first retry delay of a failed attempt")
	fl.DurationVar(&f.retryMax, "retry-max-interval", 10*time.Second, "largest retry delay")
	fl.IntVar(&f.retryMaxAttempts, "retry-max-attempts", 0, "attempts of an invocation before --retry-on-max-attempts happens (0: 70, as restate-server; -1: unlimited)")
	fl.StringVar(&f.retryOnMaxAttempts, "retry-on-max-attempts", "pause", "what happens when the attempts are exhausted: pause (resume it with the admin API) or kill (fail it)")
	fl.DurationVar(&f.inactivity, "inactivity-timeout", time.Minute, "close an idle invocation stream so the deployment suspends")
	fl.BoolVar(&f.disableEagerState, "disable-eager-state", false, "start keyed handlers without their state, which the SDK then reads lazily (restate-server's worker.invoker.disable-eager-state; a manifest's enableLazyState wins)")
	fl.IntVar(&f.maxProtocol, "max-protocol-version", 7, "highest service protocol version to speak (5-7)")
	fl.IntVar(&f.maxQueuedProposals, "max-queued-proposals", partition.DefaultMaxQueued, "per partition: proposals queued or in flight above which new work is refused with 429 and Retry-After")
	fl.IntVar(&f.maxCallsInFlight, "max-calls-in-flight", partition.DefaultMaxCalling, "per partition: ingress calls waiting for their result above which new calls are refused with 429 and Retry-After")
	fl.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fl.StringVar(&f.cpuProfile, "cpuprofile", "", "write a CPU profile to this file until shutdown")
	fl.StringVar(&f.requestIdentityKey, "request-identity-private-key-pem-file", os.Getenv(identity.PrivateKeyFileEnv),
		"PEM file of an Ed25519 private key that signs every request to a deployment (default $"+identity.PrivateKeyFileEnv+")")
	fl.StringVar(&f.tracingEndpoint, "tracing-endpoint", "",
		"OTLP collector for invocation traces, as restate-server's: http://host:4317 (gRPC) or http+otlp://host:4318 (HTTP); empty: tracing off")
}

func (f *serverFlags) config() (server.Config, error) {
	if f.maxProtocol < 5 || f.maxProtocol > 7 {
		return server.Config{}, fmt.Errorf("--max-protocol-version %d: must be 5, 6 or 7", f.maxProtocol)
	}
	size := raftlog.LogDBSize(f.logDB)
	switch size {
	case raftlog.LogDBTiny, raftlog.LogDBSmall, raftlog.LogDBMedium:
	default:
		return server.Config{}, fmt.Errorf("--logdb-size %q: must be tiny, small or medium", f.logDB)
	}
	if f.snapshotEntries == 0 {
		return server.Config{}, fmt.Errorf("--snapshot-entries must be positive")
	}
	var onMax invoker.OnMaxAttempts
	peers, err := parsePeers(f.peers)
	if err != nil {
		return server.Config{}, err
	}
	if f.maxQueuedProposals < 1 || f.maxCallsInFlight < 1 {
		return server.Config{}, fmt.Errorf("--max-queued-proposals %d, --max-calls-in-flight %d: both must be at least 1", f.maxQueuedProposals, f.maxCallsInFlight)
	}
	switch strings.ToLower(f.retryOnMaxAttempts) {
	case "pause":
		onMax = invoker.OnMaxAttemptsPause
	case "kill":
		onMax = invoker.OnMaxAttemptsKill
	default:
		return server.Config{}, fmt.Errorf("--retry-on-max-attempts %q: want pause or kill", f.retryOnMaxAttempts)
	}
	if f.pgAddr != "" {
		if _, _, err := net.SplitHostPort(f.pgAddr); err != nil {
			return server.Config{}, fmt.Errorf("--pg-addr %q: want host:port: %w", f.pgAddr, err)
		}
	}
	if err := tracing.CheckEndpoint(f.tracingEndpoint); err != nil {
		return server.Config{}, fmt.Errorf("--tracing-endpoint: %w", err)
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return server.Config{}, fmt.Errorf("--log-level: %w", err)
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})))
	return server.Config{
		DataDir:                f.dataDir,
		IngressAddr:            f.ingressAddr,
		AdminAddr:              f.adminAddr,
		RaftAddress:            f.raftAddr,
		RaftListenAddress:      f.raftListenAddr,
		RemoteAddress:          f.remoteAddr,
		RemoteListenAddress:    f.remoteListenAddr,
		Partitions:             f.partitions,
		LogDB:                  size,
		SnapshotEntries:        f.snapshotEntries,
		CompactionOverhead:     f.compactionOverhead,
		MaxBodySize:            f.maxBody,
		RequestIdentityKeyFile: f.requestIdentityKey,
		NodeID:                 f.nodeID,
		Peers:                  peers,
		Join:                   f.join,
		ReplicationFactor:      f.replicationFactor,
		MaxQueuedProposals:     f.maxQueuedProposals,
		MaxCallsInFlight:       f.maxCallsInFlight,
		TracingEndpoint:        f.tracingEndpoint,
		PgAddr:                 f.pgAddr,
		Invoker: invoker.Config{
			Retry:             invoker.RetryPolicy{InitialInterval: f.retryInitial, Factor: 2, MaxInterval: f.retryMax, MaxAttempts: f.retryMaxAttempts, OnMaxAttempts: onMax},
			InactivityTimeout: f.inactivity,
			MaxProtocol:       protocolVersion(f.maxProtocol),
			DisableEagerState: f.disableEagerState,
		},
	}, nil
}

// parsePeers reads --peers: id@raft-address pairs separated by commas.
func parsePeers(s string) (map[uint64]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	peers := map[uint64]string{}
	for _, part := range strings.Split(s, ",") {
		idText, addr, ok := strings.Cut(strings.TrimSpace(part), "@")
		id, err := strconv.ParseUint(idText, 10, 64)
		if !ok || err != nil || id == 0 || addr == "" {
			return nil, fmt.Errorf("--peers: %q is not id@host:port (a node id from 1)", part)
		}
		if _, dup := peers[id]; dup {
			return nil, fmt.Errorf("--peers: node %d named twice", id)
		}
		peers[id] = addr
	}
	return peers, nil
}

func rootCommand() *cobra.Command {
	root := &cobra.Command{Use: "resolute", Short: "Resolute: durable execution for ordinary handlers", SilenceUsage: true}
	var sf serverFlags
	var af accessFlags
	serverCmd := &cobra.Command{
		Use:   "server",
		Short: "Run the server until SIGTERM or SIGINT",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := applyConfigFile(cmd); err != nil {
				return err
			}
			cfg, err := sf.config()
			if err != nil {
				return err
			}
			if cfg.KafkaClusters, err = configKafkaClusters(cmd); err != nil {
				return err
			}
			if err := af.apply(&cfg); err != nil {
				return err
			}
			return run(cmd.Context(), cfg, false, sf.cpuProfile)
		},
	}
	sf.register(serverCmd)
	af.register(serverCmd)
	registerConfigFlag(serverCmd)
	var df serverFlags
	devCmd := &cobra.Command{
		Use:   "dev",
		Short: "Run the server with the example services registered in-process",
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := df.config()
			if err != nil {
				return err
			}
			return run(cmd.Context(), cfg, true, df.cpuProfile)
		},
	}
	df.register(devCmd)
	root.AddCommand(serverCmd, devCmd, journalCommand())
	return root
}

func run(parent context.Context, cfg server.Config, examples bool, cpuProfile string) error {
	if parent == nil {
		parent = context.Background()
	}
	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	ctx, stop := signal.NotifyContext(parent, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	startCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	s, err := server.Start(startCtx, cfg)
	if err != nil {
		return err
	}
	defer s.Close()
	if examples {
		if err := s.RegisterInProcess(startCtx, "greeter", greeter.Endpoint()); err != nil {
			return err
		}
		if err := s.RegisterInProcess(startCtx, "foodorder", foodorder.Endpoint(os.Stdout)); err != nil {
			return err
		}
		if err := s.RegisterInProcess(startCtx, "tickets", tickets.Endpoint(tickets.Config{BoxOffice: &tickets.PrintingBoxOffice{Out: os.Stdout}})); err != nil {
			return err
		}
		printExamples(s)
	}
	slog.Info("resolute serving", "ingress", s.IngressURL(), "admin", s.AdminURL(), "data-dir", cfg.DataDir, "partitions", cfg.Partitions)
	<-ctx.Done()
	slog.Info("shutting down")
	return nil
}

func printExamples(s *server.Server) {
	in := s.IngressURL()
	fmt.Printf(`Resolute dev server: ingress %s, admin %s
Example services (examples/greeter), registered in-process. Try:

  curl -X POST %s/Greeter/alice/greet -H 'content-type: application/json' -d '"Hello"'
  curl -X POST %s/Greeter/alice/count
  curl -X POST %s/Welcome/welcome -H 'content-type: application/json' -d '"bob"'
  curl -X POST %s/Greeter/alice/greet/send -H 'content-type: application/json' -d '"Hi"'
  curl -X POST %s/Greeter/carol/greet -H 'idempotency-key: order-1' -H 'content-type: application/json' -d '"Hello"'
  curl %s/services

Example workflow (examples/foodorder; its README goes on with the restaurant and the courier):

  curl -X POST %s/FoodOrder/order-1/run/send -H 'content-type: application/json' -d '{"restaurant":"Trattoria","items":["margherita"],"address":"1 Main St"}'

Example seats and carts (examples/tickets; a seat is released 15 minutes after it was added unless checked out):

  curl -X POST %s/Cart/alice/add -H 'content-type: application/json' -d '"A1"'
  curl -X POST %s/Seat/A1/status

`, in, s.AdminURL(), in, in, in, in, in, s.AdminURL(), in, in, in)
}
