package train

import (
	"errors"
	"fmt"
	"github.com/glossa-ai/glossa/internal/atomicfile"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// ErrNoCheckpoint is returned by LatestCheckpoint when a run folder holds
// no complete checkpoint.
var ErrNoCheckpoint = errors.New("no checkpoint")

// CheckpointPrefix starts the name of every checkpoint folder:
// checkpoint-<step> (Hugging Face Trainer's layout).
const CheckpointPrefix = "checkpoint-"

// Temporary and superseded checkpoint folders carry these infixes and are
// never taken for complete checkpoints.
const (
	tmpInfix = ".tmp-"
	oldInfix = ".old-"
)

// CheckpointPath returns runDir/checkpoint-<step>.
func CheckpointPath(runDir string, step int) string {
	return filepath.Join(runDir, CheckpointPrefix+strconv.Itoa(step))
}

// WriteCheckpoint writes the checkpoint of step atomically: write fills a
// fresh temporary folder runDir/checkpoint-<step>.tmp-XXXX; then every file
// and folder in it is fsynced, and it is renamed to
// runDir/checkpoint-<step>. An existing checkpoint of the same step is
// first moved aside and removed only after the rename succeeded, so at
// every instant a complete checkpoint exists (LatestCheckpoint also
// recognises the moved-aside one). If write fails, the temporary folder is
// removed and nothing else changes. It returns the final path.
func WriteCheckpoint(runDir string, step int, write func(dir string) error) (string, error) {
	if step < 0 {
		return "", fmt.Errorf("train: checkpoint step %d is negative", step)
	}
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		return "", fmt.Errorf("train: checkpoint: %w", err)
	}
	final := CheckpointPath(runDir, step)
	tmp, err := os.MkdirTemp(runDir, filepath.Base(final)+tmpInfix)
	if err != nil {
		return "", fmt.Errorf("train: checkpoint: %w", err)
	}
	if err := write(tmp); err != nil {
		os.RemoveAll(tmp)
		return "", fmt.Errorf("train: write checkpoint %s: %w", final, err)
	}
	if err := syncTree(tmp); err != nil {
		os.RemoveAll(tmp)
		return "", fmt.Errorf("train: sync checkpoint %s: %w", final, err)
	}
	var old string
	if _, err := os.Stat(final); err == nil {
		old = final + oldInfix + strconv.FormatInt(int64(os.Getpid()), 10)
		os.RemoveAll(old)
		if err := os.Rename(final, old); err != nil {
			os.RemoveAll(tmp)
			return "", fmt.Errorf("train: checkpoint: %w", err)
		}
	}
	if err := os.Rename(tmp, final); err != nil {
		if old != "" {
			os.Rename(old, final)
		}
		os.RemoveAll(tmp)
		return "", fmt.Errorf("train: checkpoint: %w", err)
	}
	if err := atomicfile.SyncDir(runDir); err != nil {
		return "", fmt.Errorf("train: checkpoint: sync %s: %w", runDir, err)
	}
	if old != "" {
		os.RemoveAll(old)
	}
	return final, nil
}

// syncTree fsyncs every regular file and folder under root (root last).
func syncTree(root string) error {
	var dirs []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			dirs = append(dirs, path)
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		err = f.Sync()
		return errors.Join(err, f.Close())
	})
	if err != nil {
		return err
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := atomicfile.SyncDir(dirs[i]); err != nil {
			return err
		}
	}
	return nil
}

// Checkpoint names a complete checkpoint folder.
type Checkpoint struct {
	Path string // the checkpoint folder
	Step int    // the training step it was written at
}

// Checkpoints lists the complete checkpoints of runDir by increasing step.
// Temporary folders (a write that never finished) are ignored; a folder
// moved aside by WriteCheckpoint counts only if its final folder is
// missing (a crash between the two renames).
func Checkpoints(runDir string) ([]Checkpoint, error) {
	ents, err := os.ReadDir(runDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("train: checkpoints: %w", err)
	}
	byStep := map[int]Checkpoint{}
	for _, e := range ents {
		name := e.Name()
		if !e.IsDir() || !strings.HasPrefix(name, CheckpointPrefix) || strings.Contains(name, tmpInfix) {
			continue
		}
		rest := strings.TrimPrefix(name, CheckpointPrefix)
		old := false
		if i := strings.Index(rest, oldInfix); i >= 0 {
			rest, old = rest[:i], true
		}
		step, err := strconv.Atoi(rest)
		if err != nil || step < 0 {
			continue
		}
		if _, have := byStep[step]; have && old {
			continue
		}
		if old {
			if _, err := os.Stat(CheckpointPath(runDir, step)); err == nil {
				continue
			}
		}
		byStep[step] = Checkpoint{Path: filepath.Join(runDir, name), Step: step}
	}
	out := make([]Checkpoint, 0, len(byStep))
	for _, c := range byStep {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Step < out[j].Step })
	return out, nil
}

// LatestCheckpoint returns the complete checkpoint with the largest step,
// or ErrNoCheckpoint.
func LatestCheckpoint(runDir string) (Checkpoint, error) {
	cs, err := Checkpoints(runDir)
	if err != nil {
		return Checkpoint{}, err
	}
	if len(cs) == 0 {
		return Checkpoint{}, fmt.Errorf("train: %s: %w", runDir, ErrNoCheckpoint)
	}
	return cs[len(cs)-1], nil
}

// PruneCheckpoints removes all but the newest keep complete checkpoints,
// and leftover temporary folders. keep ≤ 0 keeps all checkpoints. It must
// not run while a WriteCheckpoint into the same folder is in progress.
func PruneCheckpoints(runDir string, keep int) error {
	cs, err := Checkpoints(runDir)
	if err != nil {
		return err
	}
	var errs []error
	if keep > 0 && len(cs) > keep {
		for _, c := range cs[:len(cs)-keep] {
			errs = append(errs, os.RemoveAll(c.Path))
		}
	}
	ents, _ := os.ReadDir(runDir)
	for _, e := range ents {
		if e.IsDir() && strings.HasPrefix(e.Name(), CheckpointPrefix) && strings.Contains(e.Name(), tmpInfix) {
			errs = append(errs, os.RemoveAll(filepath.Join(runDir, e.Name())))
		}
	}
	return errors.Join(errs...)
}
