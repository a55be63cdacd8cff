package registry_test

import (
	"github.com/resolute-run/resolute/runtime/raftlog"
	"github.com/resolute-run/resolute/runtime/registry"
)

// The metadata shard runs the registry through raftlog.
var _ raftlog.Applier = (*registry.Registry)(nil)
