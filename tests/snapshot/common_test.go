package snapshot

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/resolute-run/resolute/runtime/raftlog"
	"github.com/resolute-run/resolute/runtime/storage"
	"github.com/resolute-run/resolute/sdk"
)

// op is one operation on a tally; its id is its idempotency key.
type op struct {
	ID     string `json:"id"`
	Key    string `json:"-"`
	Amount int    `json:"amount"`
}

// addResult is what Tally.add returns: the token its Run step returned (as journaled) and the
// object's sum and count after it.
type addResult struct {
	Token string `json:"token"`
	Sum   int    `json:"sum"`
	Count int    `json:"count"`
}

// view is what Tally.get returns.
type view struct {
	Sum   int      `json:"sum"`
	Count int      `json:"count"`
	Ops   []string `json:"ops"`
}

// runs records every execution of the Run step, by operation.
type runs struct {
	mu     sync.Mutex
	tokens map[string][]string
}

func newRuns() *runs { return &runs{tokens: map[string][]string{}} }

func (r *runs) execute(id string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	tok := fmt.Sprintf("%s#%d", id, len(r.tokens[id])+1)
	r.tokens[id] = append(r.tokens[id], tok)
	return tok
}

// last is the token of the latest execution of id's step ("" if none).
func (r *runs) last(id string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.tokens[id]
	if len(t) == 0 {
		return ""
	}
	return t[len(t)-1]
}

// tally is a Virtual Object whose add runs a journaled step and writes its sum, count and a
// marker per operation: a lost or doubled write shows in get.
func tally(r *runs) *sdk.Endpoint {
	obj := sdk.NewObject("Tally").
		Handler("add", sdk.ObjectHandler(func(ctx sdk.ObjectContext, o op) (addResult, error) {
			var res addResult
			tok, err := sdk.Run(ctx, func(sdk.RunContext) (string, error) { return r.execute(o.ID), nil })
			if err != nil {
				return res, err
			}
			res.Token = tok
			if res.Sum, err = sdk.Get[int](ctx, "sum"); err != nil {
				return res, err
			}
			res.Sum += o.Amount
			if err := sdk.Set(ctx, "sum", res.Sum); err != nil {
				return res, err
			}
			if res.Count, err = sdk.Get[int](ctx, "count"); err != nil {
				return res, err
			}
			res.Count++
			if err := sdk.Set(ctx, "count", res.Count); err != nil {
				return res, err
			}
			return res, sdk.Set(ctx, "op/"+o.ID, o.Amount)
		})).
		Handler("get", sdk.SharedHandler(func(ctx sdk.ObjectSharedContext, _ sdk.Void) (view, error) {
			var v view
			var err error
			if v.Sum, err = sdk.Get[int](ctx, "sum"); err != nil {
				return v, err
			}
			if v.Count, err = sdk.Get[int](ctx, "count"); err != nil {
				return v, err
			}
			keys, err := sdk.Keys(ctx)
			if err != nil {
				return v, err
			}
			v.Ops = []string{}
			for _, k := range keys {
				if id, ok := strings.CutPrefix(k, "op/"); ok {
					v.Ops = append(v.Ops, id)
				}
			}
			slices.Sort(v.Ops)
			return v, nil
		}))
	return sdk.NewEndpoint().Bind(obj)
}

// makeOps returns n operations spread over keys objects, with distinct amounts.
func makeOps(n, keys int) []op {
	ops := make([]op, n)
	for i := range ops {
		ops[i] = op{ID: fmt.Sprintf("op-%03d", i), Key: fmt.Sprintf("t%d", i%keys), Amount: 1000 + i}
	}
	return ops
}

// expected is the view each object must end with after all of ops.
func expected(ops []op) map[string]view {
	out := map[string]view{}
	for _, o := range ops {
		v := out[o.Key]
		v.Sum += o.Amount
		v.Count++
		v.Ops = append(v.Ops, o.ID)
		out[o.Key] = v
	}
	for k, v := range out {
		slices.Sort(v.Ops)
		out[k] = v
	}
	return out
}

// kv is one pebble key and value.
type kv struct{ k, v []byte }

// dumpData reads every key and value of every pebble database of a stopped server's data
// directory (the metadata and each partition), by directory.
func dumpData(t *testing.T, dataDir string) map[string][]kv {
	t.Helper()
	dirs := []string{filepath.Join(dataDir, "metadata")}
	parts, err := os.ReadDir(filepath.Join(dataDir, "partitions"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range parts {
		dirs = append(dirs, filepath.Join(dataDir, "partitions", p.Name()))
	}
	out := map[string][]kv{}
	for _, dir := range dirs {
		db, err := raftlog.OpenDB(dir)
		if err != nil {
			t.Fatal(err)
		}
		it, err := db.NewIter(nil)
		if err != nil {
			t.Fatal(err)
		}
		var all []kv
		for ok := it.First(); ok; ok = it.Next() {
			if logPosition(it.Key()) {
				continue
			}
			all = append(all, kv{slices.Clone(it.Key()), slices.Clone(it.Value())})
		}
		if err := it.Close(); err != nil {
			t.Fatal(err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(dataDir, dir)
		out[rel] = all
	}
	return out
}

// logPosition reports whether key is bookkeeping of the log position rather than state: the
// applied index raftlog keeps with the state, and the latest leadership's fence term. Every start
// of a server appends entries (each partition's new leader proposes a fence), so they move
// forward by a restart while every table stays as it was.
func logPosition(key []byte) bool {
	return bytes.Equal(key, []byte("\x00applied")) || bytes.Equal(key, storage.MetaFenceTerm)
}

// diffData describes how two dumps differ ("" when byte-identical).
func diffData(a, b map[string][]kv) string {
	names := make([]string, 0, len(a))
	for n := range a {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(a) != len(b) {
		return fmt.Sprintf("%d databases vs %d", len(a), len(b))
	}
	for _, n := range names {
		x, y := a[n], b[n]
		for i := range min(len(x), len(y)) {
			if !bytes.Equal(x[i].k, y[i].k) || !bytes.Equal(x[i].v, y[i].v) {
				return fmt.Sprintf("%s entry %d: %x=%x vs %x=%x", n, i, x[i].k, x[i].v, y[i].k, y[i].v)
			}
		}
		if len(x) != len(y) {
			return fmt.Sprintf("%s: %d keys vs %d", n, len(x), len(y))
		}
	}
	return ""
}
