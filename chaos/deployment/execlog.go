package deployment

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"strings"
	"sync"
	"time"
)

// ExecLog appends one line per Run body execution to a file, before the body
// returns its result. A write(2) to a file survives a SIGKILL of the process
// (it is in the kernel's page cache), so the records of a killed deployment
// are all there when the checker reads the file; no fsync is needed because
// the machine does not crash.
//
// Line format: "<op id> <step> <token>\n". Tokens are unique across processes:
// the process start time, its pid and a sequence number.
type ExecLog struct {
	prefix string
	mu     struct {
		sync.Mutex
		f   *os.File
		seq int64
	}
}

// OpenExecLog opens (creating or appending to) the execution log at path.
func OpenExecLog(path string) (*ExecLog, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("deployment: open exec log: %w", err)
	}
	l := &ExecLog{prefix: fmt.Sprintf("%x.%d", time.Now().UnixNano(), os.Getpid())}
	l.mu.f = f
	return l, nil
}

// Execute records one execution of step of op and returns its unique token.
// An error (the record could not be written) is retryable: the Run fails the
// attempt and nothing is journaled.
func (l *ExecLog) Execute(op, step string) (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.mu.seq++
	tok := fmt.Sprintf("%s.%d", l.prefix, l.mu.seq)
	// The wall-clock time lets a reader line the executions up with the
	// server logs.
	at := time.Now().UTC().Format(time.RFC3339Nano)
	if _, err := fmt.Fprintf(l.mu.f, "%s %s %s %s\n", op, step, tok, at); err != nil {
		return "", fmt.Errorf("deployment: record execution of %s/%s: %w", op, step, err)
	}
	return tok, nil
}

// Note records value (no white space) under op and step, in the format of an
// execution with value for a token: what a handler tells the checker, such as
// an awakeable's id.
func (l *ExecLog) Note(op, step, value string) error {
	if strings.ContainsAny(value, " \t\n") || value == "" {
		return fmt.Errorf("deployment: note %s/%s: value %q is empty or has white space", op, step, value)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, err := fmt.Fprintf(l.mu.f, "%s %s %s\n", op, step, value); err != nil {
		return fmt.Errorf("deployment: note %s/%s: %w", op, step, err)
	}
	return nil
}

// Close closes the file.
func (l *ExecLog) Close() error { return l.mu.f.Close() }

// Exec is one recorded Run execution.
type Exec struct {
	Op, Step, Token string
	At              string // when a Run body executed (RFC 3339, UTC); empty for a note
}

// ReadExecLog returns the records of the file at path in execution order; a
// missing file has none.
func ReadExecLog(path string) ([]Exec, error) {
	out, _, err := ReadExecLogFrom(path, 0)
	return out, err
}

// ReadExecLogFrom returns the complete records from byte offset off on, and
// the offset after the last one, to read from next time (a record being
// written is left for then). A missing file has none.
func ReadExecLogFrom(path string, off int64) ([]Exec, int64, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, off, nil
	}
	if err != nil {
		return nil, off, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.NewSectionReader(f, off, math.MaxInt64-off))
	if err != nil {
		return nil, off, fmt.Errorf("deployment: read exec log %s: %w", path, err)
	}
	data = data[:bytes.LastIndexByte(data, '\n')+1]
	var out []Exec
	for line := range strings.Lines(string(data)) {
		parts := strings.Fields(line)
		if len(parts) != 3 && len(parts) != 4 {
			return out, off, fmt.Errorf("deployment: exec log %s: malformed line %q", path, line)
		}
		e := Exec{Op: parts[0], Step: parts[1], Token: parts[2]}
		if len(parts) == 4 {
			e.At = parts[3]
		}
		out = append(out, e)
	}
	return out, off + int64(len(data)), nil
}
