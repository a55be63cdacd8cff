//go:build linux

package chaos

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/resolute-run/resolute/chaos/deployment"
)

// The checks must catch what they claim to catch: each case feeds one
// violation and expects exactly that check to fail.

func addOp(id, key string, delta int, call, ret int64, value int, token string) *op {
	body, _ := json.Marshal(deployment.AddOut{ID: id, Value: value, Token: token})
	return &op{id: id, kind: kindAdd, key: key, delta: delta, idem: true, acked: true, call: call, ret: ret,
		body: body, attached: true, attachBody: body, tries: 1}
}

func readOp(id, key string, call, ret int64, value int) *op {
	body, _ := json.Marshal(deployment.ReadOut{Value: value})
	return &op{id: id, kind: kindGet, key: key, acked: true, call: call, ret: ret, body: body}
}

func testRun(ops []*op, dumps map[string]deployment.State) *run {
	r := &run{ops: ops, dumps: dumps, keys: keys{hot: []string{"k"}}, kills: []Kill{{Kind: KillBoth, InFlight: 1}}}
	r.drain_.quiescent = true
	return r
}

func failed(checks []Check) []string {
	var names []string
	for _, c := range checks {
		if !c.OK {
			names = append(names, c.Name+": "+c.Detail)
		}
	}
	return names
}

func TestChecks(t *testing.T) {
	good := func() ([]*op, map[string]deployment.State, []deployment.Exec) {
		ops := []*op{addOp("a", "k", 2, 0, 10, 2, "t1"), addOp("b", "k", 3, 20, 30, 5, "t2"), readOp("r", "k", 40, 50, 5)}
		dumps := map[string]deployment.State{"k": {Value: 5, Applied: []string{"a", "b"}, Deltas: []int{2, 3}}}
		execs := []deployment.Exec{{Op: "a", Step: deployment.StepAdd, Token: "t0"}, {Op: "a", Step: deployment.StepAdd, Token: "t1"}, {Op: "b", Step: deployment.StepAdd, Token: "t2"}}
		return ops, dumps, execs
	}
	cases := []struct {
		name   string
		mutate func(ops []*op, dumps map[string]deployment.State, execs []deployment.Exec) ([]*op, map[string]deployment.State, []deployment.Exec)
		fails  string // prefix of the one failing check; "" for none
	}{
		{"consistent", nil, ""},
		{"applied twice", func(o []*op, d map[string]deployment.State, e []deployment.Exec) ([]*op, map[string]deployment.State, []deployment.Exec) {
			d["k"] = deployment.State{Value: 7, Applied: []string{"a", "a", "b"}, Deltas: []int{2, 2, 3}}
			return o, d, e
		}, "final state"},
		{"acknowledged add lost", func(o []*op, d map[string]deployment.State, e []deployment.Exec) ([]*op, map[string]deployment.State, []deployment.Exec) {
			d["k"] = deployment.State{Value: 3, Applied: []string{"b"}, Deltas: []int{3}}
			return o, d, e
		}, "final state"},
		{"Run recomputed after journaling", func(o []*op, d map[string]deployment.State, e []deployment.Exec) ([]*op, map[string]deployment.State, []deployment.Exec) {
			return o, d, append(e, deployment.Exec{Op: "b", Step: deployment.StepAdd, Token: "t3"})
		}, "journaled Run"},
		{"stale read", func(o []*op, d map[string]deployment.State, e []deployment.Exec) ([]*op, map[string]deployment.State, []deployment.Exec) {
			o[2] = readOp("r", "k", 40, 50, 2)
			return o, d, e
		}, "linearizable k"},
		{"different answer on attach", func(o []*op, d map[string]deployment.State, e []deployment.Exec) ([]*op, map[string]deployment.State, []deployment.Exec) {
			o[0].attachBody = []byte(`{"id":"a","value":9,"token":"t1"}`)
			return o, d, e
		}, "acknowledged ops"},
		{"stuck", func(o []*op, d map[string]deployment.State, e []deployment.Exec) ([]*op, map[string]deployment.State, []deployment.Exec) {
			return append(o, &op{id: "c", kind: kindAdd, key: "k", delta: 1, idem: true}), d, e
		}, "no stuck"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ops, dumps, execs := good()
			if tc.mutate != nil {
				ops, dumps, execs = tc.mutate(ops, dumps, execs)
			}
			r := testRun(ops, dumps)
			for _, o := range ops {
				if !o.acked && o.idem {
					r.stuck = append(r.stuck, o.id)
				}
			}
			bad := failed(check(r, execs))
			switch {
			case tc.fails == "" && len(bad) > 0:
				t.Fatalf("want all checks to pass, failed: %q", bad)
			case tc.fails != "" && (len(bad) != 1 || !strings.HasPrefix(bad[0], tc.fails)):
				t.Fatalf("want exactly %q to fail, failed: %q", tc.fails, bad)
			}
		})
	}
}
