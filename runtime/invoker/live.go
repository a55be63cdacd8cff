package invoker

import "github.com/resolute-run/resolute/runtime/ids"

// Has reports whether invocation id has an attempt: live, or waiting for its retry. A running
// invocation without one is stuck (the partition's orphan check, chaos/).
func (i *Invoker) Has(id ids.InvocationID) bool {
	i.mu.Lock()
	defer i.mu.Unlock()
	_, ok := i.mu.attempts[id]
	return ok
}
