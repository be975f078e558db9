package train

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
)

// RNGState holds named PCG generator states, serialised with
// (*rand.PCG).MarshalBinary, so that a resumed run continues exactly the
// random streams (data order, dropout, masking) of the run it resumes.
// A *rand.Rand built with rand.New(pcg) keeps no state of its own, so
// saving the PCG is enough.
type RNGState map[string][]byte

// CaptureRNG snapshots the named generators.
func CaptureRNG(gens map[string]*rand.PCG) (RNGState, error) {
	st := RNGState{}
	for name, g := range gens {
		b, err := g.MarshalBinary()
		if err != nil {
			return nil, fmt.Errorf("train: rng %s: %w", name, err)
		}
		st[name] = b
	}
	return st, nil
}

// Restore sets every named generator to its saved state; a generator
// without a saved state is an error.
func (st RNGState) Restore(gens map[string]*rand.PCG) error {
	for name, g := range gens {
		b, ok := st[name]
		if !ok {
			return fmt.Errorf("train: rng state has no generator %q", name)
		}
		if err := g.UnmarshalBinary(b); err != nil {
			return fmt.Errorf("train: rng %s: %w", name, err)
		}
	}
	return nil
}

// MarshalJSON writes {"name": "base64", ...} with sorted names.
func (st RNGState) MarshalJSON() ([]byte, error) {
	names := make([]string, 0, len(st))
	for n := range st {
		names = append(names, n)
	}
	sort.Strings(names)
	m := make(map[string]string, len(st))
	for _, n := range names {
		m[n] = base64.StdEncoding.EncodeToString(st[n])
	}
	return json.Marshal(m)
}

// UnmarshalJSON reads the form MarshalJSON writes.
func (st *RNGState) UnmarshalJSON(b []byte) error {
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("train: rng state: %w", err)
	}
	*st = RNGState{}
	for n, s := range m {
		v, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return fmt.Errorf("train: rng state %s: %w", n, err)
		}
		(*st)[n] = v
	}
	return nil
}

// WriteRNGState writes st as JSON to path (inside a checkpoint folder being
// written, so not atomically by itself).
func WriteRNGState(path string, st RNGState) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	return nil
}

// ReadRNGState reads a file written by WriteRNGState.
func ReadRNGState(path string) (RNGState, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	var st RNGState
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("train: %s: %w", path, err)
	}
	return st, nil
}

// StepSeed returns the seed of random stream stream for micro-batch step
// (from 0) of a run seeded with seed: a mix of the three, so that the
// randomness of a micro-batch (masking, dropout) depends on nothing else
// and a resumed run draws the same numbers without saving generator state.
// Tasks number their streams; the values are part of a run's
// reproducibility and never change.
func StepSeed(seed uint64, step int, stream uint64) uint64 {
	x := seed ^ (uint64(step)+1)*0x9E3779B97F4A7C15 ^ stream*0xBF58476D1CE4E5B9
	x ^= x >> 31
	x *= 0x94D049BB133111EB
	return x ^ x>>29
}

// StreamDropout is the random stream of dropout masks, shared by the tasks
// of Glossa's models (their masking and sampling streams are their own).
const StreamDropout uint64 = 2
