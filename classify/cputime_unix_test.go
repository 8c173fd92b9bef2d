//go:build unix

package classify

import (
	"syscall"
	"time"
)

// cpuTime is the CPU time (user and system) the process has used, so that
// a benchmark can report CPU per operation, which the load of a shared
// machine disturbs less than elapsed time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
