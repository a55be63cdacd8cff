// Package proc runs the subprocesses of the harnesses that drive real
// processes: the benchmark tool (bench), the chaos checker (chaos) and the
// test support of tests/testenv, which wraps it for testing.TB.
//
// It owns: starting a command in its own process group (Setpgid, so a signal
// reaches every descendant; Pdeathsig SIGKILL, so the child dies with the
// harness) with stdout and stderr in a log file, truncated or appended to;
// Kill (SIGKILL to the group) and Terminate (SIGTERM, then SIGKILL after a
// grace period), both waiting for the process; reading the tail of a log;
// WaitReady, which polls a check and notices when a watched process exits;
// ExpectStatus, the HTTP GET a readiness check makes; FreePorts, distinct
// loopback ports; and ModuleRoot, the directory of this module's go.mod.
//
// Concurrency: a Proc's methods are safe from any goroutine. One goroutine per
// Proc waits for the process; Done is closed when it has exited.
//
//	p, err := proc.Start("server", exec.Command(bin, args...), filepath.Join(dir, "server.log"), proc.Truncate)
//	if err != nil { ... }
//	err = proc.WaitReady(ctx, time.Minute, 50*time.Millisecond, func() error {
//		return proc.ExpectStatus(ctx, client, admin+"/health", http.StatusOK)
//	}, p)
//	exitedInTime, exitErr := p.Terminate(10 * time.Second)
package proc
