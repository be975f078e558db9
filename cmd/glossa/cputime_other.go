//go:build !unix

package main

import "time"

// processCPUTime returns 0: the process's CPU time is read on Unix only.
func processCPUTime() time.Duration { return 0 }
