//go:build !unix

package serve

import "time"

// cpuTime is unknown here.
func cpuTime() time.Duration { return 0 }
