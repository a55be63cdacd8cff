package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// machine describes where the benchmark ran.
type machine struct {
	CPU      string `json:"cpu"`
	Cores    int    `json:"cores"`
	MemoryGB string `json:"memory"`
	Disk     string `json:"disk"`
	Go       string `json:"go"`
	Node     string `json:"node"`
	Restate  string `json:"restate"`
	Commit   string `json:"commit"`
	Kernel   string `json:"kernel"`
	// LoadStart and LoadEnd are /proc/loadavg when the run started and
	// ended: other work on the machine skews every figure.
	LoadStart string `json:"loadStart"`
	LoadEnd   string `json:"loadEnd"`
}

// loadAvg is the 1, 5 and 15 minute load averages.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func describeMachine(cfg *config) machine {
	m := machine{CPU: cpuModel(), Cores: runtime.NumCPU(), MemoryGB: memTotal(), Disk: diskOf(cfg.workDir),
		Go: runtime.Version(), Commit: gitCommit(cfg.root), LoadStart: loadAvg()}
	m.Node = commandOutput(cfg.root, "node", "--version")
	m.Restate = commandOutput(cfg.root, filepath.Join(cfg.root, officialServerBin), "--version")
	var u syscall.Utsname
	if syscall.Uname(&u) == nil {
		m.Kernel = utsString(u.Release[:])
	}
	return m
}

func utsString(b []int8) string {
	var s strings.Builder
	for _, c := range b {
		if c == 0 {
			break
		}
		s.WriteByte(byte(c))
	}
	return s.String()
}

func commandOutput(dir, name string, args ...string) string {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	return strings.TrimSpace(string(out))
}

func gitCommit(root string) string {
	c := commandOutput(root, "git", "rev-parse", "--short=12", "HEAD")
	// Only the code the benchmark builds and runs counts as a change.
	out := commandOutput(root, "git", "status", "--porcelain", "--untracked-files=no", "--",
		"go.mod", "go.sum", "cmd", "runtime", "actors", "sdk", "bench", "compat/ts/bench.mjs", "compat/ts/package-lock.json")
	if out != "" && !strings.HasPrefix(out, "unknown") {
		c += " (with uncommitted changes)"
	}
	return c
}

// procField returns the value of the first "key: value" line in a /proc file.
func procField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func cpuModel() string {
	if m := procField("/proc/cpuinfo", "model name"); m != "" {
		return m
	}
	return runtime.GOARCH
}

func memTotal() string {
	kb, err := strconv.ParseInt(strings.TrimSuffix(procField("/proc/meminfo", "MemTotal"), " kB"), 10, 64)
	if err != nil {
		return "unknown"
	}
	return fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
}

// diskOf names the filesystem holding dir: device, type, size, and whether
// the kernel reports it rotational.
func diskOf(dir string) string {
	out := commandOutput(dir, "df", "-PTh", dir)
	lines := strings.Split(out, "\n")
	if len(lines) < 2 {
		return out
	}
	f := strings.Fields(lines[1])
	if len(f) < 7 {
		return lines[1]
	}
	desc := fmt.Sprintf("%s (%s, %s, mounted on %s)", f[0], f[1], f[2], f[6])
	dev := filepath.Base(f[0])
	for _, d := range []string{dev, strings.TrimRightFunc(dev, func(r rune) bool { return r >= '0' && r <= '9' })} {
		if b, err := os.ReadFile("/sys/block/" + d + "/queue/rotational"); err == nil {
			if bytes.Equal(bytes.TrimSpace(b), []byte("0")) {
				desc += ", non-rotational"
			} else {
				desc += ", rotational"
			}
			break
		}
	}
	return desc
}

// rssKiB reads VmRSS of pid from /proc/<pid>/status.
func rssKiB(pid int) (int64, error) {
	v := procField(fmt.Sprintf("/proc/%d/status", pid), "VmRSS")
	kb, err := strconv.ParseInt(strings.TrimSuffix(v, " kB"), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("VmRSS of pid %d: %q: %w", pid, v, err)
	}
	return kb, nil
}

// fsyncScenario measures the disk under dir: 64-byte appends each followed
// by fdatasync, one at a time, for the configured duration.
func fsyncScenario(cfg *config, dir string) result {
	r := result{Scenario: "fsync", Case: "64 B append + fdatasync, 1 writer", Server: "machine", Deployment: "-"}
	f, err := os.CreateTemp(dir, "fsync-*.dat")
	if err != nil {
		r.Err = err.Error()
		return r
	}
	defer os.Remove(f.Name())
	defer f.Close()
	rec := bytes.Repeat([]byte{'x'}, 63)
	rec = append(rec, '\n')
	var lats []time.Duration
	start := time.Now()
	for time.Since(start) < cfg.duration {
		t0 := time.Now()
		if _, err := f.Write(rec); err != nil {
			r.Err = err.Error()
			return r
		}
		if err := syscall.Fdatasync(int(f.Fd())); err != nil {
			r.Err = err.Error()
			return r
		}
		lats = append(lats, time.Since(t0))
	}
	elapsed := time.Since(start)
	slices.Sort(lats)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	r.Figures = []figure{
		{"fsyncs/s", float64(len(lats)) / elapsed.Seconds(), "higher"},
		{"p50 ms", ms(percentile(lats, 50)), "lower"},
		{"p99 ms", ms(percentile(lats, 99)), "lower"},
	}
	return r
}
