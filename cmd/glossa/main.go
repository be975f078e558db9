// Command glossa is the command-line face of Glossa, a pure-Go toolkit for
// Transformer language models: tokenize, build, train, run and measure them.
//
// Usage:
//
//	glossa COMMAND [flags] [args]
//
// Run "glossa help" for the list of commands and "glossa COMMAND -h" for the
// flags of one.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// command is one subcommand of the CLI.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"quickstart", "the whole recipe on a built-in corpus: tokenizer, BERT pretraining, fine-tuning, GPT generation", runQuickstart},
		{"bench", "run a benchmark workload (sgemm-N, train-char, train-small, tokenize-gpt2, ...)", runBench},
		{"pipeline", "run a Hugging Face task pipeline: fill-mask, ner, question-answering, embeddings, zero-shot, ...", runPipeline},
		{"fill-mask", "predict [MASK] tokens with a masked LM (the fill-mask pipeline)", runFillMask},
		{"demo", "the worked demonstrations: attention by hand, a Transformer encoder forward", runDemo},
		{"pull", "download a model from the Hugging Face hub into the HF cache", runPull},
		{"generate", "generate text with a causal language model", runGenerate},
		{"quantize", "write a Llama model as a llama.cpp GGUF file: f32, f16, bf16, q8_0, q4_0", runQuantize},
		{"translate", "translate text with an encoder-decoder (Marian, T5, BART), batched and streaming", runTranslate},
		{"summarize", "summarize text with an encoder-decoder (BART, T5), batched and streaming", runSummarize},
		{"run", "interactive session with a causal LM", runRun},
		{"serve", "OpenAI-compatible HTTP server with continuous batching and a web playground", runServe},
		{"tokenize", "encode text with a tokenizer and print ids, tokens and offsets", runTokenize},
		{"tokenizer", "tokenizer tools: train a BPE or WordPiece vocabulary from a corpus", runTokenizerTool},
		{"data", "prepare and inspect packed token files for training", runData},
		{"finetune", "fine-tune a pretrained BERT: text classification, NLI pairs, NER, extractive QA or seq2seq (fresh head, AdamW)", runFinetune},
		{"distill", "distil a BERT teacher into a smaller student (DistilBERT's recipe: soft targets, hard labels, hidden states)", runDistill},
		{"eval", "evaluate a classifier (accuracy, P/R/F1, confusion), an NER model (entity F1), QA (EM/F1), perplexity or translation/summarization", runEval},
		{"classify", "classify texts with a fine-tuned model: label and probability per text", runClassify},
		{"pretrain", "pretrain a GPT-2 (causal LM) or BERT (masked LM + next sentence) from plain text", runPretrain},
		{"plot", "draw the loss curves of training runs on one figure, to compare them", runPlot},
	}
}

// errUsage marks an error caused by bad command-line usage (exit status 2).
var errUsage = errors.New("usage error")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		return 0
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, args[1:], stdout, stderr)
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errUsage):
			fmt.Fprintf(stderr, "glossa %s: %v\n", c.name, err)
			return 2
		default:
			fmt.Fprintf(stderr, "glossa %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "glossa: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "glossa — Transformer language models in pure Go")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage: glossa COMMAND [flags] [args]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, `Run "glossa COMMAND -h" for the flags of a command.`)
}

// newFlagSet returns a flag set that reports errors instead of exiting.
func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("glossa "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}
