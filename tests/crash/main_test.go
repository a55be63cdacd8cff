//go:build linux

package crash

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/resolute-run/resolute/internal/proc"
)

// Environment of a deployment process: the test binary re-executed with
// roleEnv set serves that role's services on addrEnv and appends what its
// handlers do to the file eventsEnv names.
const (
	roleEnv   = "RESOLUTE_CRASH_DEPLOYMENT"
	addrEnv   = "RESOLUTE_CRASH_ADDR"
	eventsEnv = "RESOLUTE_CRASH_EVENTS"
)

// TestMain runs a deployment process when roleEnv is set. Otherwise it builds
// the resolute binary once for every test of the package (unless RESOLUTE_BIN
// names one) and runs the tests.
func TestMain(m *testing.M) {
	if role := os.Getenv(roleEnv); role != "" {
		if err := serveRole(role, os.Getenv(addrEnv), os.Getenv(eventsEnv)); err != nil {
			fmt.Fprintf(os.Stderr, "deployment %s: %v\n", role, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	if os.Getenv("RESOLUTE_BIN") == "" {
		dir, err := os.MkdirTemp("", "resolute-crash-bin")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		bin := filepath.Join(dir, "resolute")
		// If this build fails, each test builds the binary itself and
		// reports why (testenv.ResoluteBinary).
		if root, err := proc.ModuleRoot(); err == nil {
			cmd := exec.Command("go", "build", "-o", bin, "./cmd/resolute")
			cmd.Dir, cmd.Env = root, append(os.Environ(), "GOWORK=off")
			if cmd.Run() == nil {
				os.Setenv("RESOLUTE_BIN", bin)
			}
		}
	}
	return m.Run()
}
