// Package cputime reads the CPU time the process has used, which benchmarks
// report beside wall time: on a machine whose cores are shared with other
// jobs, a computation's CPU time moves far less than its wall time.
package cputime
