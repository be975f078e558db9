//go:build unix

package serve

import (
	"syscall"
	"time"
)

// cpuTime returns the CPU time (user and system) the process has used, 0
// if unknown. The load test reports CPU time per token beside tokens/s: on
// a machine whose cores are shared, it moves far less than wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
