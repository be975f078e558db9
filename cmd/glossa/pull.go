package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/schollz/progressbar/v3"

	"github.com/glossa-ai/glossa/hub"
)

// runPull downloads a model repository into the Hugging Face cache and
// prints the snapshot folder.
func runPull(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("pull", stderr)
	endpoint := fs.String("endpoint", "", "Hub URL (default $HF_ENDPOINT, else "+hub.DefaultEndpoint+")")
	cacheDir := fs.String("cache-dir", "", "cache folder (default $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub)")
	var include, exclude patterns
	fs.Var(&include, "include", "download the files matching this pattern; repeatable (default: config, safetensors weights, tokenizer)")
	fs.Var(&exclude, "exclude", "skip the files matching this pattern; repeatable")
	quiet := fs.Bool("quiet", false, "draw no progress bar")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: glossa pull ORG/NAME[@REVISION] [--endpoint URL] [--cache-dir DIR] [--include PATTERN]... [--exclude PATTERN]...")
		fmt.Fprintln(stderr, "\nDownloads a model from the Hugging Face Hub into the cache Python's huggingface_hub")
		fmt.Fprintln(stderr, "shares, and prints its snapshot folder. Set HF_TOKEN for private or gated models.")
		fmt.Fprintln(stderr, "Patterns follow Python's fnmatch: '*' also matches '/'; \"dir/\" matches a folder.")
		fmt.Fprintln(stderr, "\nFlags:")
		fs.PrintDefaults()
	}
	// Flags may come before or after the repository.
	refs, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(refs) != 1 {
		fs.Usage()
		return fmt.Errorf("%w: want one repository, got %d", errUsage, len(refs))
	}
	repoID, revision, err := hub.ParseRef(refs[0])
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	bar := &pullBar{w: stderr, quiet: *quiet}
	dir, err := hub.Download(ctx, repoID, revision, &hub.Options{
		Endpoint:       *endpoint,
		CacheDir:       *cacheDir,
		AllowPatterns:  include,
		IgnorePatterns: exclude,
		Progress:       bar.update,
	})
	bar.finish()
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, dir)
	return nil
}

// patterns collects a repeatable pattern flag; nil until set.
type patterns []string

func (p *patterns) String() string { return strings.Join(*p, ",") }

func (p *patterns) Set(s string) error {
	*p = append(*p, s)
	return nil
}

// pullBar draws one progress bar over the bytes of all files on stderr,
// naming the file being downloaded.
type pullBar struct {
	w     io.Writer
	quiet bool
	bar   *progressbar.ProgressBar
	file  string
}

func (b *pullBar) update(p hub.Progress) {
	if b.quiet {
		return
	}
	if b.bar == nil {
		total := p.Total
		if total <= 0 {
			total = -1 // unknown: a spinner
		}
		b.bar = progressbar.NewOptions64(total,
			progressbar.OptionSetWriter(b.w), progressbar.OptionSetWidth(30),
			progressbar.OptionShowBytes(true), progressbar.OptionShowCount(), progressbar.OptionThrottle(100_000_000),
			progressbar.OptionSetRenderBlankState(true), progressbar.OptionSetPredictTime(true))
	}
	if p.File != b.file {
		b.file = p.File
		name := p.File
		if len(name) > 32 {
			name = "…" + name[len(name)-31:]
		}
		b.bar.Describe(name)
	}
	if p.Total > 0 && b.bar.GetMax64() != p.Total {
		b.bar.ChangeMax64(p.Total)
	}
	b.bar.Set64(p.Bytes)
}

func (b *pullBar) finish() {
	if b.bar != nil {
		b.bar.Finish()
		fmt.Fprintln(b.w)
		b.bar = nil
	}
}
