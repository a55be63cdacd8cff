package statemachine

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNoIO keeps the core pure: no clock, randomness, network, files or goroutine plumbing.
func TestNoIO(t *testing.T) {
	forbidden := []string{"time", "math/rand", "math/rand/v2", "os", "net", "net/http", "io", "sync", "context"}
	files, _ := filepath.Glob("*.go")
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		ast, err := parser.ParseFile(token.NewFileSet(), f, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range ast.Imports {
			for _, bad := range forbidden {
				if strings.Trim(imp.Path.Value, `"`) == bad {
					t.Errorf("%s imports %s", f, bad)
				}
			}
		}
	}
}
