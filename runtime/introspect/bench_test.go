package introspect

import (
	"context"
	"testing"

	"github.com/cockroachdb/pebble/v2"

	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/ids"
	"github.com/resolute-run/resolute/runtime/registry"
	"github.com/resolute-run/resolute/runtime/storage"
)

// BenchmarkQueryInvocations: a status count over a partition of 100,000 completed invocations
// (every query loads the table it names: this is the cost of that load).
func BenchmarkQueryInvocations(b *testing.B) {
	db, err := pebble.Open(b.TempDir(), &pebble.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	batch := db.NewBatch()
	tg := command.Target{Service: "Greeter", Handler: "greet", ServiceType: command.Service}
	const n = 100_000
	for i := range n {
		var e [16]byte
		e[0], e[1], e[2] = byte(i), byte(i>>8), byte(i>>16)
		id := ids.NewInvocationID(ids.PartitionKey(uint64(i)*7919), e)
		st := storage.InvocationStatus{Phase: storage.Completed, Invocation: command.Invocation{ID: id, Target: tg}, Result: &command.Result{Value: []byte(`"hi"`)}, CreatedAt: 1_700_000_000_000, ModifiedAt: 1_700_000_000_100}
		if err := storage.PutStatus(batch, id, &st); err != nil {
			b.Fatal(err)
		}
	}
	if err := batch.Commit(pebble.NoSync); err != nil {
		b.Fatal(err)
	}
	e, err := Open(&pebbleSource{db: db, services: []registry.Service{}}, Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	b.ResetTimer()
	for range b.N {
		res, err := e.Query(context.Background(), `SELECT status, COUNT(*) FROM sys_invocation GROUP BY status`)
		if err != nil || len(res.Rows) != 1 {
			b.Fatalf("%v %v", res, err)
		}
	}
}
