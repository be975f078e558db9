package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/glossa-ai/glossa/quantize"
)

// runQuantize implements "glossa quantize IN --type T --out FILE.gguf".
func runQuantize(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("quantize", stderr)
	typ := fs.String("type", "q8_0", "weight type of the file: f32, f16, bf16, q8_0, q4_0")
	out := fs.String("out", "", "the `FILE.gguf` to write (required)")
	tok := fs.String("tokenizer", "", "vocabulary to embed: tokenizer.bin (required for a llama2.c .bin), tokenizer.model or a .gguf file")
	pure := fs.Bool("pure", false, "every 2-D weight in --type, no output-matrix or F16 fallbacks (llama-quantize --pure)")
	requant := fs.Bool("allow-requantize", false, "allow converting a GGUF input's quantized tensors to another type")
	name := fs.String("name", "", "general.name (default: the input's name)")
	quiet := fs.Bool("quiet", false, "print only the summary line")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: glossa quantize IN --type f32|f16|bf16|q8_0|q4_0 --out FILE.gguf [--tokenizer PATH] [--pure]")
		fmt.Fprintln(stderr, "\nIN is a Hugging Face Llama folder, a llama2.c .bin (with --tokenizer tokenizer.bin) or a .gguf file.")
		fmt.Fprintln(stderr, "Type choices follow llama.cpp's llama-quantize; the file embeds the tokenizer and chat template.\n\nFlags:")
		fs.PrintDefaults()
	}
	in, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(in) != 1:
		return fmt.Errorf("%w: want one input (a model folder, a llama2.c .bin or a .gguf file), got %d", errUsage, len(in))
	case *out == "":
		return fmt.Errorf("%w: --out FILE.gguf is required", errUsage)
	}
	t, err := quantize.ParseType(*typ)
	if err != nil {
		return fmt.Errorf("%w: --type: %v", errUsage, err)
	}
	res, err := quantize.File(ctx, in[0], *out, quantize.Options{Type: t, Tokenizer: *tok, Pure: *pure,
		AllowRequantize: *requant, Name: *name})
	if err != nil {
		return err
	}
	counts := map[string]int{}
	var order []string
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	for _, x := range res.Tensors {
		k := x.To.String()
		if counts[k] == 0 {
			order = append(order, k)
		}
		counts[k]++
		if !*quiet {
			fmt.Fprintf(tw, "%s\t%v\t%v → %v\t%s\n", x.Name, x.Shape, x.From, x.To, x.Note)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	parts := make([]string, len(order))
	for i, k := range order {
		parts[i] = fmt.Sprintf("%d %s", counts[k], k)
	}
	_, err = fmt.Fprintf(stdout, "wrote %s: %d bytes, %d tensors (%s)\n", res.Path, res.Bytes, len(res.Tensors), strings.Join(parts, ", "))
	return err
}

// parseInterspersed parses flags that may come before or after the
// positional arguments, which it returns.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, flagError(err)
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos, args = append(pos, fs.Arg(0)), fs.Args()[1:]
	}
}
