package bench

import (
	"syscall"
	"time"
)

// threadCPU is the CPU time the calling thread has used (getrusage(2),
// RUSAGE_THREAD), 0 if it cannot be read.
func threadCPU() time.Duration {
	const rusageThread = 1
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
