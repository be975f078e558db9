package train

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/glossa-ai/glossa/internal/atomicfile"
	"os"
	"time"
)

// Record is one line of the metrics log.
type Record struct {
	Time  time.Time `json:"time"`
	Step  int       `json:"step"`
	Split string    `json:"split"` // "train" or "eval"
	// Loss is the mean loss over the logging interval (train) or the
	// evaluation set (eval).
	Loss         float64 `json:"loss"`
	LR           float64 `json:"lr,omitempty"`
	Tokens       int64   `json:"tokens,omitempty"` // tokens seen so far
	TokensPerSec float64 `json:"tokens_per_sec,omitempty"`
	// Metrics holds further named values (accuracy, perplexity, grad_norm, ...).
	Metrics map[string]float64 `json:"metrics,omitempty"`
}

// MetricsLog appends Records to a JSON-lines file. Lines are buffered and
// the file is flushed and fsynced every SyncEvery lines and on Close, so a
// crash loses at most that many lines, and a line is never half-written
// except at the very end (which ReadMetricsLog ignores).
type MetricsLog struct {
	f         *os.File
	w         *bufio.Writer
	syncEvery int
	pending   int
}

// OpenMetricsLog opens path for appending, creating it if needed.
// syncEvery ≤ 0 means 1 (every line). When keepUpToStep ≥ 0, records with
// a larger step — written by a run that was killed after its last
// checkpoint — are first removed (atomically), so a resumed run's log
// reads as if it had never stopped.
func OpenMetricsLog(path string, syncEvery, keepUpToStep int) (*MetricsLog, error) {
	if keepUpToStep >= 0 {
		if err := truncateLog(path, keepUpToStep); err != nil {
			return nil, err
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("train: metrics log: %w", err)
	}
	return &MetricsLog{f: f, w: bufio.NewWriter(f), syncEvery: max(1, syncEvery)}, nil
}

// Log appends r (with Time set to now when zero).
func (l *MetricsLog) Log(r Record) error {
	if r.Time.IsZero() {
		r.Time = time.Now().UTC()
	}
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("train: metrics log: %w", err)
	}
	l.w.Write(b)
	if err := l.w.WriteByte('\n'); err != nil {
		return fmt.Errorf("train: metrics log: %w", err)
	}
	l.pending++
	if l.pending >= l.syncEvery {
		return l.Sync()
	}
	return nil
}

// Sync flushes buffered lines and fsyncs the file.
func (l *MetricsLog) Sync() error {
	l.pending = 0
	if err := l.w.Flush(); err != nil {
		return fmt.Errorf("train: metrics log: %w", err)
	}
	if err := l.f.Sync(); err != nil {
		return fmt.Errorf("train: metrics log: %w", err)
	}
	return nil
}

// Close syncs and closes the file.
func (l *MetricsLog) Close() error {
	err := l.Sync()
	return errors.Join(err, l.f.Close())
}

// ReadMetricsLog reads every complete record of a metrics log. A final
// line without newline (a crash mid-write) is ignored; any other bad line
// is an error with its line number. A missing file gives no records.
func ReadMetricsLog(path string) ([]Record, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("train: metrics log: %w", err)
	}
	if i := bytes.LastIndexByte(data, '\n'); i+1 < len(data) {
		data = data[:i+1] // drop a torn last line
	}
	var out []Record
	for n, line := range bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var r Record
		if err := json.Unmarshal(line, &r); err != nil {
			return nil, fmt.Errorf("train: metrics log %s:%d: %w", path, n+1, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// truncateLog rewrites path keeping records with Step ≤ step.
func truncateLog(path string, step int) error {
	recs, err := ReadMetricsLog(path)
	if err != nil || recs == nil {
		return err
	}
	var buf bytes.Buffer
	for _, r := range recs {
		if r.Step <= step {
			b, _ := json.Marshal(r)
			buf.Write(b)
			buf.WriteByte('\n')
		}
	}
	return writeFileAtomic(path, buf.Bytes())
}

// writeFileAtomic writes data to a temporary file beside path, syncs it
// and renames it over path.
func writeFileAtomic(path string, data []byte) error {
	if err := atomicfile.WriteFile(path, data); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	return nil
}
