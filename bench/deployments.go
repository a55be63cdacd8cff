package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/resolute-run/resolute/internal/proc"
)

// deployment is a process serving the benchmark services (Bench, Counter)
// with one SDK, plus its control API (stats, reset, release).
type deployment struct {
	kind    string // "go" or "ts"
	uri     string // service endpoint registered with the server
	control string // control API base URL
	proc    *proc.Proc
}

// startDeployment starts a fresh deployment process of the given kind.
func startDeployment(cfg *config, kind, logDir string) (*deployment, error) {
	ports, err := proc.FreePorts(2)
	if err != nil {
		return nil, err
	}
	var cmd *exec.Cmd
	switch kind {
	case "go":
		cmd = exec.Command(cfg.deploymentBin, "--addr", proc.Addr(ports[0]), "--control-addr", proc.Addr(ports[1]))
	case "ts":
		cmd = exec.Command("node", "--import", "./polyfill.mjs", "bench.mjs", fmt.Sprint(ports[0]), fmt.Sprint(ports[1]))
		cmd.Dir = filepath.Join(cfg.root, "compat", "ts")
	default:
		return nil, fmt.Errorf("bench: unknown deployment %q (want go or ts)", kind)
	}
	name := "deployment-" + kind
	p, err := proc.Start(name, cmd, filepath.Join(logDir, name+".log"), proc.Append)
	if err != nil {
		return nil, err
	}
	d := &deployment{kind: kind, uri: "http://" + proc.Addr(ports[0]), control: "http://" + proc.Addr(ports[1]), proc: p}
	if err := waitReady("deployment "+kind, 30*time.Second, p, func() error { return expectGet(d.control + "/stats") }); err != nil {
		_, _ = p.Terminate(time.Second)
		return nil, err
	}
	return d, nil
}

func (d *deployment) stop() { _, _ = d.proc.Terminate(5 * time.Second) }

// stats are the deployment's counters of distinct invocation ids, and of sleep handler runs
// past the timer (all of them, and those that ran before the timer was due); of awakeables
// published and waited for by Awakeable/wait (distinct tags, and returns), of workflow runs
// of WaitingWorkflow that started and returned (distinct keys, and returns); and per
// "Service/handler" of those two, the attempts whose stream ended.
type stats struct {
	SleepEntered    int            `json:"sleepEntered"`
	SleepWoke       int            `json:"sleepWoke"`
	BlockEntered    int            `json:"blockEntered"`
	SleepWokeRuns   int            `json:"sleepWokeRuns"`
	SleepEarly      int            `json:"sleepEarly"`
	AwakePublished  int            `json:"awakePublished"`
	AwakeDone       int            `json:"awakeDone"`
	AwakeDoneRuns   int            `json:"awakeDoneRuns"`
	WaitingEntered  int            `json:"waitingEntered"`
	WaitingDone     int            `json:"waitingDone"`
	WaitingDoneRuns int            `json:"waitingDoneRuns"`
	Ended           map[string]int `json:"ended"`
}

func (d *deployment) stats() (stats, error) {
	var st stats
	resp, err := controlClient.Get(d.control + "/stats")
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

// strings reads a {key: value} map from the control API: "awakeables" (tag → awakeable id)
// or "waiting" (workflow key → value its run returned).
func (d *deployment) strings(what string) (map[string]string, error) {
	resp, err := controlClient.Get(d.control + "/" + what)
	if err != nil {
		return nil, fmt.Errorf("deployment %s: %s: %w", d.kind, what, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("deployment %s: %s: status %d", d.kind, what, resp.StatusCode)
	}
	m := map[string]string{}
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		return nil, fmt.Errorf("deployment %s: %s: %w", d.kind, what, err)
	}
	return m, nil
}

func (d *deployment) post(action string) error {
	resp, err := controlClient.Post(d.control+"/"+action, "", nil)
	if err != nil {
		return fmt.Errorf("deployment %s: %s: %w", d.kind, action, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("deployment %s: %s: status %d", d.kind, action, resp.StatusCode)
	}
	return nil
}

// waitStat polls the deployment until get(stats) reaches n or timeout.
func (d *deployment) waitStat(n int, timeout time.Duration, get func(stats) int) (time.Time, error) {
	return d.waitStatOr(n, timeout, get, func() error { return nil })
}

// waitStatOr is waitStat that gives up as soon as abort returns an error.
func (d *deployment) waitStatOr(n int, timeout time.Duration, get func(stats) int, abort func() error) (time.Time, error) {
	deadline := time.Now().Add(timeout)
	last := -1
	for {
		st, err := d.stats()
		if err == nil {
			last = get(st)
			if last >= n {
				return time.Now(), nil
			}
		}
		if aerr := abort(); aerr != nil {
			return time.Time{}, fmt.Errorf("only %d of %d: %w", last, n, aerr)
		}
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("only %d of %d after %v (last stats error: %v)", last, n, timeout, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
