package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/glossa-ai/glossa/generate"
	"github.com/glossa-ai/glossa/hub"
	"github.com/glossa-ai/glossa/infer"
	"github.com/glossa-ai/glossa/models/auto"
	"github.com/glossa-ai/glossa/tokenizer"
	tokauto "github.com/glossa-ai/glossa/tokenizer/auto"
	"github.com/glossa-ai/glossa/tokenizer/sentencepiece"
)

// runGenerate implements "glossa generate": load a causal LM and its
// tokenizer, encode the prompt, and stream the continuation to stdout.
func runGenerate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("generate", stderr)
	modelPath := fs.String("model", "", modelFlagHelp)
	tokPath := fs.String("tokenizer", "", "tokenizer file or folder (default: the model folder, or tokenizer.bin beside a .bin)")
	sampling := addSamplingFlags(fs)
	maxNew := fs.Int("max-new-tokens", 256, "tokens to generate at most")
	steps := fs.Int("steps", 0, "llama2.c semantics: total positions including BOS and the prompt, stopping at BOS (overrides --max-new-tokens)")
	beams := fs.Int("num-beams", 1, "beam search with this many beams (greedy, ignores sampling flags)")
	var stops []string
	fs.Func("stop", "stop when the text contains `STR` (repeatable)", func(s string) error {
		if s == "" {
			return errors.New("empty stop string")
		}
		stops = append(stops, s)
		return nil
	})
	stats := fs.Bool("stats", false, "print the decoding speed to stderr")
	dtype := fs.String("dtype", "", dtypeFlagHelp+" (default f32, or stored for a .gguf file)")
	cacheType := fs.String("cache-type", "", cacheTypeFlagHelp)
	promptIDs := fs.String("prompt-ids", "", "the prompt as comma-separated token `IDS` instead of text (no tokenizer needed with --print-ids)")
	printIDs := fs.Bool("print-ids", false, "print the generated token ids, space-separated on one line, instead of text")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: glossa generate --model PATH|ORG/NAME[@REV] [--tokenizer PATH] [--temperature T] [--top-k K] [--top-p P]")
		fmt.Fprintln(stderr, "         [--min-p P] [--repetition-penalty R] [--seed S] [--max-new-tokens N | --steps N] [--stop STR]")
		fmt.Fprintln(stderr, "         [--print-ids] PROMPT | --prompt-ids IDS")
		fmt.Fprintln(stderr, "\nThe prompt is echoed, then the continuation streams as it is generated.\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return flagError(err)
	}
	switch {
	case *modelPath == "":
		return fmt.Errorf("%w: --model is required", errUsage)
	case fs.NArg() > 1:
		return fmt.Errorf("%w: want one PROMPT argument (quote it), got %d", errUsage, fs.NArg())
	case *promptIDs != "" && fs.NArg() > 0:
		return fmt.Errorf("%w: give the prompt as text or as --prompt-ids, not both", errUsage)
	case *printIDs && len(stops) > 0:
		return fmt.Errorf("%w: --stop needs text output, not --print-ids", errUsage)
	case *maxNew < 0 || *steps < 0 || *beams < 0:
		return fmt.Errorf("%w: --max-new-tokens, --steps and --num-beams must not be negative", errUsage)
	}
	prompt := fs.Arg(0)

	m, err := loadCausalLM(ctx, *modelPath, *dtype, *cacheType, stderr)
	if err != nil {
		return err
	}
	if *tokPath == "" {
		*tokPath = m.TokenizerPath
	}
	var tok *tokenizer.Tokenizer
	switch {
	case *tokPath != "":
		if tok, err = tokauto.Load(*tokPath); err != nil {
			return err
		}
	case *promptIDs == "" || !*printIDs:
		return fmt.Errorf("%w: no tokenizer found beside %s; pass --tokenizer", errUsage, *modelPath)
	}
	var ids []int
	if *promptIDs != "" {
		if ids, err = parseIDs(*promptIDs, m.VocabSize()); err != nil {
			return fmt.Errorf("%w: --prompt-ids: %v", errUsage, err)
		}
	} else {
		enc, err := tok.Encode(prompt)
		if err != nil {
			return err
		}
		ids = enc.IDs
	}
	if len(ids) == 0 {
		return fmt.Errorf("%w: the prompt encodes to no tokens and the tokenizer adds no BOS", errUsage)
	}

	// Llama vocabularies decode through their model so that a skipped BOS
	// still drops the following piece's leading space, as run.c and HF do.
	var dec generate.Decoder
	if tok != nil {
		dec = tok
		if sp, ok := tok.Model().(*sentencepiece.Model); ok {
			dec = sp
		}
	}
	opts := generate.Options{SamplingOptions: sampling.options(), Seed: sampling.seed(fs),
		MaxNewTokens: *maxNew, StopStrings: stops, NumBeams: *beams, Decoder: dec}
	if *steps > 0 {
		// llama2.c's run.c counts every position it feeds, BOS and prompt
		// included, clamps to the model's length, and stops when the model
		// produces BOS.
		// Each pass from the last prompt position on yields a token.
		n := min(*steps, m.MaxLen())
		opts.MaxNewTokens = n - len(ids) + 1
		if bos := bosID(tok, m.BOSTokenID); bos >= 0 {
			opts.StopTokens = []int{bos}
		}
		if opts.MaxNewTokens <= 0 {
			return fmt.Errorf("%w: --steps %d leaves no room after the %d prompt tokens", errUsage, *steps, len(ids))
		}
	} else {
		opts.StopTokens = m.EOSTokenIDs
	}

	var werr error
	write := func(s string) {
		if werr == nil {
			_, werr = io.WriteString(stdout, s)
		}
	}
	if *printIDs {
		sep := ""
		opts.OnToken = func(_, id int) {
			write(sep + strconv.Itoa(id))
			sep = " "
		}
		opts.Decoder = nil // no text is needed
	} else {
		// Echo the prompt as the model sees it, then stream.
		echo, err := dec.Decode(ids, true)
		if err != nil {
			return err
		}
		write(echo)
		opts.OnText = func(_ int, piece string) { write(piece) }
	}
	start := time.Now()
	seqs, err := generate.Generate(ctx, m, [][]int{ids}, opts)
	elapsed := time.Since(start)
	if *printIDs && opts.NumBeams > 1 && err == nil {
		write(joinIDs(seqs[0].Tokens))
	}
	write("\n")
	if werr != nil {
		return werr
	}
	if err != nil {
		return err
	}
	if *stats {
		n := len(seqs[0].Tokens)
		fmt.Fprintf(stderr, "%d tokens in %v: %.1f tokens/s (%s)\n", n, elapsed.Round(time.Millisecond),
			float64(n)/elapsed.Seconds(), seqs[0].Reason)
	}
	return nil
}

// samplingFlags are the sampling flags generate and run share.
type samplingFlags struct {
	temperature, topP, minP, repPenalty, presence, frequency *float64
	topK                                                     *int
	seedValue                                                *uint64
}

func addSamplingFlags(fs *flag.FlagSet) *samplingFlags {
	return &samplingFlags{
		temperature: fs.Float64("temperature", 1, "sampling temperature; 0 is greedy"),
		topK:        fs.Int("top-k", 0, "sample from the K most likely tokens (0: all)"),
		topP:        fs.Float64("top-p", 1, "nucleus sampling: the smallest set with probability >= P (1: off)"),
		minP:        fs.Float64("min-p", 0, "drop tokens less likely than P times the most likely (0: off)"),
		repPenalty:  fs.Float64("repetition-penalty", 1, "penalise tokens already in the context (1: off)"),
		presence:    fs.Float64("presence-penalty", 0, "subtract from the logits of tokens that occurred"),
		frequency:   fs.Float64("frequency-penalty", 0, "subtract per occurrence"),
		seedValue:   fs.Uint64("seed", 0, "sampling seed (default: from the clock)"),
	}
}

func (f *samplingFlags) options() generate.SamplingOptions {
	return generate.SamplingOptions{Temperature: *f.temperature, TopK: *f.topK, TopP: *f.topP, MinP: *f.minP,
		RepetitionPenalty: *f.repPenalty, PresencePenalty: *f.presence, FrequencyPenalty: *f.frequency}
}

// seed returns --seed when it was given, else a seed from the clock.
func (f *samplingFlags) seed(fs *flag.FlagSet) uint64 {
	set := false
	fs.Visit(func(fl *flag.Flag) { set = set || fl.Name == "seed" })
	if set {
		return *f.seedValue
	}
	return uint64(time.Now().UnixNano())
}

// modelFlagHelp documents the --model flag of the commands that load a
// causal LM.
const modelFlagHelp = "model: a Hugging Face folder, a llama2.c .bin file, a llama.cpp .gguf file, or ORG/NAME[@REVISION] on the Hub (cache first, else downloaded)"

// loadCausalLM loads the model a --model flag names: a local folder or file,
// else a Hub reference ORG/NAME[@REVISION] taken from the Hugging Face cache
// when it is there (no network), else downloaded into it with a progress bar
// on stderr ($HF_ENDPOINT, $HF_HOME and $HF_TOKEN apply).
func loadCausalLM(ctx context.Context, ref, dtype, cacheType string, stderr io.Writer) (*auto.CausalLM, error) {
	f, err := infer.ParseFormat(dtype)
	if err != nil {
		return nil, fmt.Errorf("%w: --dtype: %v", errUsage, err)
	}
	kv, err := infer.ParseKVType(cacheType)
	if err != nil {
		return nil, fmt.Errorf("%w: --cache-type: %v", errUsage, err)
	}
	dir, err := resolveModel(ctx, ref, stderr)
	if err != nil {
		return nil, err
	}
	if dtype == "" && strings.EqualFold(filepath.Ext(dir), ".gguf") {
		f = infer.Stored // a quantized file runs in its own types, as llama.cpp runs it
	}
	return auto.LoadCausalLM(dir, &auto.LoadOptions{Format: f, CacheType: kv})
}

// cacheTypeFlagHelp documents the --cache-type flag of the commands that
// decode.
const cacheTypeFlagHelp = "KV cache `type`: f16 (half precision, half the memory) or f32; default f16 for a .gguf file (llama.cpp's default), f32 otherwise (Hugging Face's)"

// dtypeFlagHelp documents the --dtype flag of the commands that load a
// model.
const dtypeFlagHelp = "weight `format`: f32 (packed float32), bf16 (bfloat16, half the memory and bandwidth), q8_0 or q4_0 (llama.cpp's blocks, int8 products), f16, or stored (a GGUF file's own per-tensor types)"

// resolveModel turns a --model value into a local path (hub.ResolveModel),
// drawing a download's progress on stderr.
func resolveModel(ctx context.Context, ref string, stderr io.Writer) (string, error) {
	bar := &pullBar{w: stderr}
	dir, err := hub.ResolveModel(ctx, ref, &hub.Options{Progress: bar.update})
	bar.finish()
	return dir, err
}

// parseIDs parses comma-separated token ids, each in [0, vocab).
func parseIDs(s string, vocab int) ([]int, error) {
	var ids []int
	for f := range strings.SplitSeq(s, ",") {
		id, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return nil, fmt.Errorf("%q is not a token id", f)
		}
		if id < 0 || id >= vocab {
			return nil, fmt.Errorf("token id %d is outside the vocabulary [0, %d)", id, vocab)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// joinIDs formats ids space-separated.
func joinIDs(ids []int) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.Itoa(id)
	}
	return strings.Join(s, " ")
}

// bosID returns the beginning-of-sequence id: the tokenizer's <s>, else the
// model's (-1 when neither has one).
func bosID(tok *tokenizer.Tokenizer, modelBOS int) int {
	if tok != nil {
		if id, ok := tok.TokenToID("<s>"); ok {
			return id
		}
	}
	return modelBOS
}
