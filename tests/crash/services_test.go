//go:build linux

package crash

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/resolute-run/resolute/sdk"
)

// The deployments of TestTimersAndCallsAcrossKills, each a process of its
// own so that either can be killed:
//
//   - roleFront serves the Front service: sleep (a durable sleep), later (a
//     delayed one-way send to Tally.fired) and relay (a call to Tally.apply);
//   - roleBack serves the Tally object: apply (a slow Run step, then a state
//     write), fired (a state write) and get (reads the counts).
//
// Every handler appends what it does to an event file (see eventLog), which
// the test reads to find when to kill and to check executions.
const (
	roleFront = "front"
	roleBack  = "back"
)

// Event kinds.
const (
	evEnter  = "enter"  // a handler attempt started (first run or replay)
	evRun    = "run"    // a Run body started; Token is what it will return
	evRan    = "ran"    // that Run body returned
	evCall   = "call"   // relay is about to call Tally.apply (each attempt)
	evReturn = "return" // a handler returned normally
)

// event is one line of an event file.
type event struct {
	Kind    string `json:"k"`
	Handler string `json:"h"`
	Tag     string `json:"tag"`
	Step    string `json:"step,omitempty"`
	Token   string `json:"tok,omitempty"`
	Inv     string `json:"inv"`
	At      int64  `json:"at"` // wall clock, Unix nanoseconds
	Pid     int    `json:"pid"`
}

// eventLog appends one JSON line per event with one write(2): what a killed
// process wrote is in the file (the kernel has it), so no fsync is needed.
type eventLog struct {
	pid int
	mu  struct {
		sync.Mutex
		f   *os.File
		seq int
	}
}

func openEventLog(path string) (*eventLog, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open event log: %w", err)
	}
	l := &eventLog{pid: os.Getpid()}
	l.mu.f = f
	return l, nil
}

// record appends e, stamped with the time and pid; a failed write panics,
// so the handler attempt fails rather than leaving an execution unrecorded.
func (l *eventLog) record(e event) {
	e.At, e.Pid = time.Now().UnixNano(), l.pid
	b, err := json.Marshal(e)
	if err != nil {
		panic(err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, err := l.mu.f.Write(append(b, '\n')); err != nil {
		panic(fmt.Sprintf("record event: %v", err))
	}
}

// token returns a token unique across processes.
func (l *eventLog) token(tag, step string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.mu.seq++
	return fmt.Sprintf("%s/%s/%d.%d", tag, step, l.pid, l.mu.seq)
}

// readEvents returns the events of the file at path in order; a missing
// file has none.
func readEvents(path string) ([]event, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []event
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return out, fmt.Errorf("event file %s: line %q: %w", path, sc.Text(), err)
		}
		out = append(out, e)
	}
	return out, sc.Err()
}

// runStep is what a recorded Run step returns: its token and when it ran.
type runStep struct {
	Token string `json:"token"`
	At    int64  `json:"at"` // Unix milliseconds
	Value int64  `json:"value,omitempty"`
}

// recordedRun runs a Run step that records its execution (evRun before
// body, evRan after) and returns the token with the body's value.
func recordedRun(ctx sdk.Context, l *eventLog, handler, tag, step string, body func() int64) (runStep, error) {
	return sdk.Run(ctx, func(sdk.RunContext) (runStep, error) {
		tok := l.token(tag, step)
		l.record(event{Kind: evRun, Handler: handler, Tag: tag, Step: step, Token: tok, Inv: ctx.InvocationID()})
		v := body()
		l.record(event{Kind: evRan, Handler: handler, Tag: tag, Step: step, Token: tok, Inv: ctx.InvocationID()})
		return runStep{Token: tok, At: time.Now().UnixMilli(), Value: v}, nil
	}, sdk.WithName(step))
}

func none() int64 { return 0 }

// Inputs and outputs of Front and Tally.
type (
	sleepIn struct {
		Tag string `json:"tag"`
		Ms  int64  `json:"ms"`
	}
	sleepOut struct {
		Due  int64   `json:"due"` // Unix ms the sleep was due
		Woke runStep `json:"woke"`
	}
	laterIn struct {
		Tag string `json:"tag"`
		Key string `json:"key"`
		Ms  int64  `json:"ms"`
	}
	laterOut struct {
		Due    int64  `json:"due"`
		Callee string `json:"callee"` // invocation id of the delayed Tally.fired
	}
	relayIn struct {
		Tag string `json:"tag"`
		Key string `json:"key"`
	}
	relayOut struct {
		Pre    string   `json:"pre"`
		Callee applyOut `json:"callee"`
		Post   string   `json:"post"`
	}
	applyOut struct {
		Token string `json:"token"`
		Count int    `json:"count"`
	}
	firedIn struct {
		Tag string `json:"tag"`
	}
)

// workTime is how long Tally.apply's Run body takes, so that a kill can land
// inside it.
const workTime = 150 * time.Millisecond

// countPrefix prefixes the Tally state key counting the effects of a tag.
const countPrefix = "n/"

func frontService(l *eventLog) *sdk.Service {
	return sdk.NewService("Front").
		Handler("ping", sdk.ServiceHandler(func(sdk.Context, sdk.Void) (string, error) { return "pong", nil })).
		Handler("sleep", sdk.ServiceHandler(func(ctx sdk.Context, in sleepIn) (sleepOut, error) {
			l.record(event{Kind: evEnter, Handler: "sleep", Tag: in.Tag, Inv: ctx.InvocationID()})
			due, err := recordedRun(ctx, l, "sleep", in.Tag, "due", func() int64 { return time.Now().UnixMilli() + in.Ms })
			if err != nil {
				return sleepOut{}, err
			}
			if err := sdk.Sleep(ctx, time.Until(time.UnixMilli(due.Value))); err != nil {
				return sleepOut{}, err
			}
			woke, err := recordedRun(ctx, l, "sleep", in.Tag, "woke", none)
			l.record(event{Kind: evReturn, Handler: "sleep", Tag: in.Tag, Inv: ctx.InvocationID()})
			return sleepOut{Due: due.Value, Woke: woke}, err
		})).
		Handler("later", sdk.ServiceHandler(func(ctx sdk.Context, in laterIn) (laterOut, error) {
			l.record(event{Kind: evEnter, Handler: "later", Tag: in.Tag, Inv: ctx.InvocationID()})
			due, err := recordedRun(ctx, l, "later", in.Tag, "due", func() int64 { return time.Now().UnixMilli() + in.Ms })
			if err != nil {
				return laterOut{}, err
			}
			// The SDK stamps the send at its own clock plus the delay: not before due.
			id, err := sdk.Send(ctx, sdk.ToObject("Tally", in.Key, "fired"), firedIn{Tag: in.Tag},
				sdk.WithDelay(time.Until(time.UnixMilli(due.Value)))).InvocationID()
			l.record(event{Kind: evReturn, Handler: "later", Tag: in.Tag, Inv: ctx.InvocationID()})
			return laterOut{Due: due.Value, Callee: id}, err
		})).
		Handler("relay", sdk.ServiceHandler(func(ctx sdk.Context, in relayIn) (relayOut, error) {
			l.record(event{Kind: evEnter, Handler: "relay", Tag: in.Tag, Inv: ctx.InvocationID()})
			var out relayOut
			pre, err := recordedRun(ctx, l, "relay", in.Tag, "pre", none)
			if err != nil {
				return out, err
			}
			out.Pre = pre.Token
			l.record(event{Kind: evCall, Handler: "relay", Tag: in.Tag, Inv: ctx.InvocationID()})
			if out.Callee, err = sdk.Call[applyOut](ctx, sdk.ToObject("Tally", in.Key, "apply"), firedIn{Tag: in.Tag}); err != nil {
				return out, err
			}
			post, err := recordedRun(ctx, l, "relay", in.Tag, "post", none)
			out.Post = post.Token
			l.record(event{Kind: evReturn, Handler: "relay", Tag: in.Tag, Inv: ctx.InvocationID()})
			return out, err
		}))
}

func tallyObject(l *eventLog) *sdk.Object {
	return sdk.NewObject("Tally").
		Handler("apply", sdk.ObjectHandler(func(ctx sdk.ObjectContext, in firedIn) (applyOut, error) {
			l.record(event{Kind: evEnter, Handler: "apply", Tag: in.Tag, Inv: ctx.InvocationID()})
			work, err := recordedRun(ctx, l, "apply", in.Tag, "work", func() int64 {
				time.Sleep(workTime)
				return 0
			})
			if err != nil {
				return applyOut{}, err
			}
			n, err := bump(ctx, in.Tag)
			l.record(event{Kind: evReturn, Handler: "apply", Tag: in.Tag, Inv: ctx.InvocationID()})
			return applyOut{Token: work.Token, Count: n}, err
		})).
		Handler("fired", sdk.ObjectHandler(func(ctx sdk.ObjectContext, in firedIn) (int, error) {
			l.record(event{Kind: evEnter, Handler: "fired", Tag: in.Tag, Inv: ctx.InvocationID()})
			n, err := bump(ctx, in.Tag)
			l.record(event{Kind: evReturn, Handler: "fired", Tag: in.Tag, Inv: ctx.InvocationID()})
			return n, err
		})).
		Handler("get", sdk.SharedHandler(func(ctx sdk.ObjectSharedContext, _ sdk.Void) (map[string]int, error) {
			keys, err := sdk.Keys(ctx)
			if err != nil {
				return nil, err
			}
			counts := map[string]int{}
			for _, k := range keys {
				if tag, ok := strings.CutPrefix(k, countPrefix); ok {
					if counts[tag], err = sdk.Get[int](ctx, k); err != nil {
						return nil, err
					}
				}
			}
			return counts, nil
		}))
}

// bump adds one to the count of tag and returns it.
func bump(ctx sdk.ObjectContext, tag string) (int, error) {
	n, err := sdk.Get[int](ctx, countPrefix+tag)
	if err != nil {
		return 0, err
	}
	return n + 1, sdk.Set(ctx, countPrefix+tag, n+1)
}

// serveRole serves role's services on addr until the process is killed or
// terminated.
func serveRole(role, addr, events string) error {
	l, err := openEventLog(events)
	if err != nil {
		return err
	}
	ep := sdk.NewEndpoint()
	switch role {
	case roleFront:
		ep.Bind(frontService(l))
	case roleBack:
		ep.Bind(tallyObject(l))
	default:
		return fmt.Errorf("unknown role %q", role)
	}
	return ep.ListenAndServe(addr)
}
