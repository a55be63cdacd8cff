package proc

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// ErrNoModule is returned by ModuleRoot outside this module's tree.
var ErrNoModule = errors.New("proc: no go.mod of github.com/resolute-run/resolute above the working directory")

// ModuleRoot walks up from the working directory (the package directory under
// go test) to the directory holding the go.mod of
// github.com/resolute-run/resolute.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.Contains(data, []byte("module github.com/resolute-run/resolute\n")) {
			return dir, nil
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", ErrNoModule
		}
		dir = parent
	}
}
