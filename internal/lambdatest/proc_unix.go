//go:build unix

package lambdatest

import (
	"os/exec"
	"syscall"
)

// setProcessGroup puts the emulator in a process group of its own, so that
// killProcessGroup stops the bootstrap it started too.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// killProcessGroup kills the emulator and every process it started.
func killProcessGroup(cmd *exec.Cmd) {
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // already gone is fine
	}
}
