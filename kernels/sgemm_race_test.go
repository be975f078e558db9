//go:build race

package kernels

// raceEnabled reports whether the race detector is on: it slows the tests
// tenfold and makes sync.Pool drop items at random.
const raceEnabled = true
