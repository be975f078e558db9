//go:build race

package infer

// raceEnabled reports whether the race detector is on; it instruments
// memory accesses and randomly drops sync.Pool items, so allocation-count
// tests are meaningless under it.
const raceEnabled = true
