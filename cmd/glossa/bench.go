package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"

	"github.com/glossa-ai/glossa/infer"
)

// benchResult is the one JSON object that "glossa bench WORKLOAD --json"
// prints as its last line; ../shared/bench/README.md specifies it.
type benchResult struct {
	Workload   string  `json:"workload"`
	Threads    int     `json:"threads"`
	Value      float64 `json:"value"`
	Unit       string  `json:"unit"`
	PeakRSSMiB float64 `json:"peak_rss_mib"`
	Tokens     int     `json:"tokens,omitempty"`
	Detail     string  `json:"detail,omitempty"`
}

// benchOptions are the flags common to every workload.
type benchOptions struct {
	Threads int
	Input   string // tokenize-* workloads: the text file to encode
	// Models are model folders to time instead of a random model
	// (bert-forward: several, on the same batch, alternating).
	Models []string
	// CacheType is the KV cache type of the llama-* workloads (zero: the
	// loader's default, half precision for a GGUF file).
	CacheType infer.KVType
	Log       io.Writer
}

// workload measures one benchmark and returns its rate.
type workload func(ctx context.Context, opt benchOptions) (benchResult, error)

// workloads lists every benchmark by name. Names with a numeric suffix
// (sgemm-N) are resolved by benchWorkload.
func workloads() map[string]workload {
	w := map[string]workload{}
	for _, n := range []int{256, 512, 1024, 2048} {
		w["sgemm-"+strconv.Itoa(n)] = benchSgemm(n)
	}
	w["train-char"] = benchTrainChar
	w["train-small"] = benchTrainSmall
	w["train-char-bf16"] = benchTrainBF16(trainChar)
	w["train-small-bf16"] = benchTrainBF16(trainSmall)
	w["tokenize-gpt2"] = benchTokenizeGPT2
	w["tokenize-gpt2-batch"] = benchTokenizeGPT2Batch
	w["bert-forward"] = benchBERTForward(infer.F32)
	w["bert-forward-bf16"] = benchBERTForward(infer.BF16)
	w["llama2c-stories260k"] = benchStories260K
	w["gpt2-prefill"] = benchGPT2Prefill(infer.F32)
	w["gpt2-prefill-bf16"] = benchGPT2Prefill(infer.BF16)
	w["gpt2-decode"] = benchGPT2Decode(infer.F32)
	w["gpt2-decode-bf16"] = benchGPT2Decode(infer.BF16)
	w["marian-translate"], w["marian-translate-bf16"] = benchMarianTranslate(infer.F32), benchMarianTranslate(infer.BF16)
	for _, f := range []infer.Format{infer.F32, infer.BF16, infer.Q8_0, infer.Q4_0} {
		w["llama-decode-"+f.String()] = benchLlama(f, true)
		w["llama-prefill-"+f.String()] = benchLlama(f, false)
	}
	return w
}

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench", stderr)
	threads := fs.Int("threads", runtime.GOMAXPROCS(0), "number of cores to compute on")
	asJSON := fs.Bool("json", false, "print the result as one JSON object (the ../shared/bench contract)")
	input := fs.String("input", "", "input file (tokenize-* workloads)")
	models := fs.String("model", "", "bert-forward: comma-separated BERT folders to time on the same batch (e.g. a teacher and its distilled student) instead of random BERT-base")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the workload to `FILE` (read it with go tool pprof)")
	cacheType := fs.String("cache-type", "", "llama-* workloads: "+cacheTypeFlagHelp)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: glossa bench WORKLOAD [--threads N] [--json] [--input FILE]")
		fmt.Fprintln(stderr, "\nWorkloads:")
		names := make([]string, 0)
		for n := range workloads() {
			names = append(names, n)
		}
		sort.Strings(names)
		fmt.Fprintln(stderr, "  "+strings.Join(names, ", "))
		fmt.Fprintln(stderr, "\nFlags:")
		fs.PrintDefaults()
	}
	// Allow the workload name before or after the flags.
	var name string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if name == "" && fs.NArg() > 0 {
		name = fs.Arg(0)
	}
	if name == "" {
		fs.Usage()
		return fmt.Errorf("%w: no workload named", errUsage)
	}
	w, ok := workloads()[name]
	if !ok {
		return fmt.Errorf("%w: unknown workload %q", errUsage, name)
	}
	kv, err := infer.ParseKVType(*cacheType)
	if err != nil {
		return fmt.Errorf("%w: --cache-type: %v", errUsage, err)
	}
	if *threads < 1 {
		return fmt.Errorf("%w: --threads must be at least 1", errUsage)
	}
	// Restored on return: tests run commands in-process, and the threads of
	// one must not change another's numerics.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(*threads))
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	res, err := w(ctx, benchOptions{Threads: *threads, Input: *input, Models: splitList(*models), CacheType: kv, Log: stderr})
	if err != nil {
		return err
	}
	res.Workload = name
	res.Threads = *threads
	res.PeakRSSMiB = peakRSSMiB()
	if *asJSON {
		b, err := json.Marshal(res)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, string(b))
		return nil
	}
	fmt.Fprintf(stdout, "%s threads=%d: %.4g %s (peak RSS %.1f MiB)\n", name, res.Threads, res.Value, res.Unit, res.PeakRSSMiB)
	if res.Detail != "" {
		fmt.Fprintln(stdout, res.Detail)
	}
	return nil
}

// peakRSSMiB reads VmHWM from /proc/self/status; 0 where it is unavailable.
func peakRSSMiB() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "VmHWM:") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) >= 2 {
			kb, err := strconv.ParseFloat(fields[1], 64)
			if err == nil {
				return kb / 1024
			}
		}
	}
	return 0
}
