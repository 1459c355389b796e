//go:build unix

package checker

import (
	"syscall"
	"time"
)

// processCPU is the CPU time (user and system) the process has used
// (getrusage(2), RUSAGE_SELF), 0 if it cannot be read.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
