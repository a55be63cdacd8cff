package chaos

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"
)

// Check is one row of the report.
type Check struct {
	Name   string
	OK     bool
	Detail string
}

// Report is the outcome of a run: the seed to replay it, the kills, one
// Check per property, and whether all passed.
type Report struct {
	Seed       uint64
	WorkDir    string // data directory, logs and execution log of the run
	ServerLogs string
	Ops        int
	Kills      []Kill
	Timers     TimerStats
	Awakeables AwakeStats
	Promised   PromisedStats
	Checks     []Check
	Pass       bool
}

// Table renders the checks as `check | result | detail` rows and a final
// PASS or FAIL line.
func (r Report) Table() string {
	var b strings.Builder
	fmt.Fprintf(&b, "seed %d, %d operations, work dir %s\n", r.Seed, r.Ops, r.WorkDir)
	tw := tabwriter.NewWriter(&b, 0, 0, 1, ' ', 0)
	fmt.Fprintln(tw, "check\t| result\t| detail")
	fmt.Fprintln(tw, "-----\t| ------\t| ------")
	for _, c := range r.Checks {
		fmt.Fprintf(tw, "%s\t| %s\t| %s\n", c.Name, cond(c.OK, "ok", "FAIL"), c.Detail)
	}
	tw.Flush()
	if r.Pass {
		b.WriteString("PASS\n")
	} else {
		fmt.Fprintf(&b, "FAIL (replay the schedule with --seed %d)\n", r.Seed)
	}
	return b.String()
}

// Kill kinds: the server, the deployment serving Counter (the callee of the
// calls between services), the one serving Workflowish (their caller), or
// all three at once.
const (
	KillServer   = "server"
	KillCounter  = "counter"
	KillWorkflow = "workflowish"
	KillAll      = "all"
)

// Faults of one node of a cluster (Kill.Node): a kill, after which it
// restarts on its data directory; and an isolation, a network partition
// that cuts it off from the other nodes for 1-3 s, then heals.
const (
	KillNode    = "node"
	KillIsolate = "isolate"
)

// KillKinds lists the kill kinds of a single server; a run with at least as
// many cycles kills each kind at least once.
var KillKinds = []string{KillServer, KillCounter, KillWorkflow, KillAll}

// ClusterKillKinds lists the fault kinds of a cluster: a kill of one node
// (drawn from the seed among those leading a partition) or of a deployment,
// and the isolation of one node.
var ClusterKillKinds = []string{KillNode, KillCounter, KillWorkflow, KillIsolate}

// KillKindsFor lists the fault kinds of a system of nodes server processes.
func KillKindsFor(nodes int) []string {
	if nodes > 1 {
		return ClusterKillKinds
	}
	return KillKinds
}

// Kill is one fault of the schedule and what was in flight.
type Kill struct {
	Kind     string
	Node     int           // the node killed (KillNode), from 1
	Leading  int           // the partitions Node led when it was chosen
	At       time.Duration // since the workload started
	InFlight int           // ingress requests sent and not answered
	Downtime time.Duration // from the kill until the restarted processes were ready; of an isolation, until healed and every node ready
	Cut      time.Duration // how long an isolated node was cut off
	Isolated IngressTally  // the requests that entered by an isolated node while it was cut off
}

// IngressTally counts the requests sent to an isolated node's ingress
// while it was cut off, by answer: 2xx, 5xx or another status before the
// heal, any answer after it, or none (a connection error or the client's
// timeout); and the longest wait for an answer.
type IngressTally struct {
	OK, Unavailable, Other, AfterHeal, NoAnswer int
	Longest                                     time.Duration
}

// Sent is the number of requests counted.
func (t IngressTally) Sent() int { return t.OK + t.Unavailable + t.Other + t.AfterHeal + t.NoAnswer }

func (t IngressTally) String() string {
	return fmt.Sprintf("%d sent: answered before the heal %d 2xx, %d 5xx, %d another status; %d after the heal; %d without an answer; longest wait %v",
		t.Sent(), t.OK, t.Unavailable, t.Other, t.AfterHeal, t.NoAnswer, t.Longest.Round(time.Millisecond))
}

// name is the kind, with the node for a fault of one node.
func (k Kill) name() string {
	if k.Node > 0 {
		return fmt.Sprintf("%s %d (leading %d partitions)", k.Kind, k.Node, k.Leading)
	}
	return k.Kind
}

// serverDown reports whether the fault took down the server, or a node of
// a cluster.
func (k Kill) serverDown() bool {
	return k.Kind == KillServer || k.Kind == KillAll || k.Kind == KillNode
}

// TimerStats counts the timers that were armed before a kill, by when they
// fell due: in the second before the kill (fired before it; the recovery
// must not fire them again), while the processes were down, or after they
// were back. A timer counts once per kill.
type TimerStats struct {
	Sleeps, Delayed       int // naps; delayed sends and subs
	Before, During, After int
}

// AwakeStats counts the awakeable waits and the resolutions the checker
// sent: rejections, second resolutions sent after the first was
// acknowledged, pairs sent at once, resolutions retried (a connection error
// or a 5xx), held back and sent as a kill began, and in flight (sent before,
// acknowledged after) at a kill of the server.
type AwakeStats struct {
	Waits, Sent, Rejections, Seconds, Pairs, Retried int
	AtKill, InFlightAtServerKill                     int
}

// PromisedStats counts the workflow runs: those whose promise was completed
// before the run was submitted, second completions refused, runs sent and
// called a second time, and outputs the drain attached from a handler
// (Workflowish/attachPromised) rather than with GET
// /restate/workflow/{name}/{key}/attach.
type PromisedStats struct {
	Runs, Early, Refused, Resent, Recalled, ViaHandler int
}

func cond[T any](c bool, a, b T) T {
	if c {
		return a
	}
	return b
}
