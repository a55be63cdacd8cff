package main

import "syscall"

// sysProcAttr puts the child in its own process group (so the whole group can
// be signalled) and kills it if the harness dies first.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
