package train

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// ProgressMode selects how Progress displays.
type ProgressMode uint8

const (
	// ProgressAuto draws a bar when the output is a terminal and writes
	// log lines otherwise.
	ProgressAuto ProgressMode = iota
	// ProgressBar always draws a live bar.
	ProgressBar
	// ProgressLog writes one line per LogInterval.
	ProgressLog
	// ProgressOff displays nothing.
	ProgressOff
)

// ProgressOptions configure NewProgress; the zero value writes to stderr,
// as a bar on a terminal, with an unknown total.
type ProgressOptions struct {
	// Total is the last step of the run; zero means unknown (no ETA).
	Total int
	// Start is the step the run starts from (non-zero when resumed), so
	// rates and ETA count only this session's steps.
	Start int
	// Out receives the display; nil means os.Stderr.
	Out  io.Writer
	Mode ProgressMode // bar, log lines or nothing; zero (ProgressAuto) picks by terminal
	// LogInterval spaces log lines in ProgressLog mode; zero means 10 s.
	LogInterval time.Duration
	// Description prefixes the bar or line ("pretrain").
	Description string
	// Now returns the time; nil means time.Now (tests inject a clock).
	Now func() time.Time
}

// Progress shows a training run's step, loss, tokens per second and
// estimated time left. It is safe for concurrent use.
type Progress struct {
	mu      sync.Mutex
	opts    ProgressOptions
	bar     *progressbar.ProgressBar
	start   time.Time
	lastLog time.Time
	logged  bool
	logStep int // step of the last log line
	tokens  int64
	step    int
	loss    float64
}

// NewProgress starts a display.
func NewProgress(opts ProgressOptions) *Progress {
	if opts.Out == nil {
		opts.Out = os.Stderr
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.LogInterval <= 0 {
		opts.LogInterval = 10 * time.Second
	}
	if opts.Mode == ProgressAuto {
		opts.Mode = ProgressLog
		if f, ok := opts.Out.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			opts.Mode = ProgressBar
		}
	}
	p := &Progress{opts: opts, start: opts.Now(), step: opts.Start}
	if opts.Mode == ProgressBar {
		total := int64(opts.Total)
		if total <= 0 {
			total = -1
		}
		p.bar = progressbar.NewOptions64(total,
			progressbar.OptionSetWriter(opts.Out),
			progressbar.OptionSetDescription(opts.Description),
			progressbar.OptionShowCount(),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionSetPredictTime(false),
			progressbar.OptionSetElapsedTime(false),
			progressbar.OptionShowDescriptionAtLineEnd(),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(opts.Out) }),
		)
		if opts.Start > 0 {
			p.bar.Set64(int64(opts.Start))
		}
	}
	return p
}

// Update reports that step finished with the given loss after processing
// tokens tokens in that step.
func (p *Progress) Update(step int, loss float64, tokens int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.step, p.loss = step, loss
	p.tokens += tokens
	switch p.opts.Mode {
	case ProgressBar:
		p.bar.Describe(p.opts.Description + " " + p.stats())
		p.bar.Set64(int64(step))
	case ProgressLog:
		now := p.opts.Now()
		if !p.logged || now.Sub(p.lastLog) >= p.opts.LogInterval || step == p.opts.Total {
			p.logged, p.lastLog, p.logStep = true, now, step
			p.writeLine()
		}
	}
}

// stats formats loss, throughput and ETA.
func (p *Progress) stats() string {
	el := p.opts.Now().Sub(p.start)
	s := fmt.Sprintf("loss %.4f", p.loss)
	if el > 0 {
		s += fmt.Sprintf(" | %s tok/s", humanCount(float64(p.tokens)/el.Seconds()))
	}
	done := p.step - p.opts.Start
	if p.opts.Total > 0 && done > 0 {
		eta := time.Duration(float64(el) / float64(done) * float64(p.opts.Total-p.step))
		s += " | ETA " + eta.Round(time.Second).String()
	}
	return s
}

func (p *Progress) writeLine() {
	total := "?"
	if p.opts.Total > 0 {
		total = fmt.Sprint(p.opts.Total)
	}
	desc := p.opts.Description
	if desc != "" {
		desc += " "
	}
	el := p.opts.Now().Sub(p.start).Round(time.Second)
	fmt.Fprintf(p.opts.Out, "%sstep %d/%s | %s | elapsed %s\n", desc, p.step, total, p.stats(), el)
}

// Finish completes the display (a final line in log mode).
func (p *Progress) Finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch p.opts.Mode {
	case ProgressBar:
		p.bar.Finish()
	case ProgressLog:
		if !p.logged || p.logStep != p.step {
			p.writeLine()
		}
	}
}

// humanCount formats a rate with a k/M suffix.
func humanCount(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e4:
		return fmt.Sprintf("%.1fk", v/1e3)
	default:
		return fmt.Sprintf("%.0f", v)
	}
}
