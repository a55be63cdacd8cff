package statemachine

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The deterministic core must not reach for a clock, randomness or IO: a replay of the log must
// produce the same tables on every replica, every time. This test fails when a non-test file of a
// core package imports one of these.
var forbiddenImports = map[string]string{
	"time":         "wall clock",
	"math/rand":    "randomness",
	"math/rand/v2": "randomness",
	"crypto/rand":  "randomness",
	"os":           "IO",
	"net":          "IO",
	"net/http":     "IO",
	"io/ioutil":    "IO",
	"sync":         "concurrency (the core is single-threaded)",
}

var corePackages = []string{".", "../command", "../ids", "../protocol", "../../promises", "../../objects"}

func TestCoreImportsNoClockRandomnessOrIO(t *testing.T) {
	for _, dir := range corePackages {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		if len(files) == 0 {
			t.Fatalf("no Go files in %s", dir)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			parsed, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range parsed.Imports {
				path, _ := strconv.Unquote(imp.Path.Value)
				if why, bad := forbiddenImports[path]; bad {
					t.Errorf("%s imports %q (%s); the partition core must be deterministic", f, path, why)
				}
			}
		}
	}
}
