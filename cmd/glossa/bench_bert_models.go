package main

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/glossa-ai/glossa/infer"
	"github.com/glossa-ai/glossa/internal/cputime"
	"github.com/glossa-ai/glossa/models/bert"
	"github.com/glossa-ai/glossa/tensor"
)

// benchBERTModels is bert-forward on model folders (--model A,B,…): each
// model's encoder and pooler over the same batch of 8 sequences of
// min(128, the smallest model's positions) random ids (mask all ones, token
// types 0), as bert-forward times BERT-base. After one warm-up pass per
// model, rounds run every model once in turn, so that the machine's slow
// phases fall on all of them alike; each model's rate is its median over the
// rounds and its speed-up over the first model the median of the per-round
// ratios. Beside the wall time it reports the process's CPU time per pass,
// which the other jobs of a shared machine disturb far less: with --threads 1
// it is the pass's own compute. The result's value is the first model's
// sequences/s.
func benchBERTModels(ctx context.Context, opt benchOptions, format infer.Format) (benchResult, error) {
	const B, warmup, rounds = 8, 1, 15
	encs := make([]*bert.Encoder, len(opt.Models))
	T := 128
	for i, dir := range opt.Models {
		e, err := bert.LoadEncoder(dir, &bert.EncoderOptions{Format: format})
		if err != nil {
			return benchResult{}, err
		}
		if i > 0 && e.Config.VocabSize != encs[0].Config.VocabSize {
			return benchResult{}, fmt.Errorf("%s has %d tokens, %s %d: the batch must mean the same to every model",
				dir, e.Config.VocabSize, opt.Models[0], encs[0].Config.VocabSize)
		}
		encs[i], T = e, min(T, e.Config.MaxLen())
	}
	rng := tensor.NewRNG(0)
	in := bert.Input{B: B, T: T, IDs: make([]int, B*T)}
	for i := range in.IDs {
		in.IDs[i] = rng.IntN(encs[0].Config.VocabSize)
	}
	ws := make([]bert.Workspace, len(encs))
	times := make([][]float64, len(encs))
	cpu := make([][]float64, len(encs))
	for r := range warmup + rounds {
		for i, e := range encs {
			if err := ctx.Err(); err != nil {
				return benchResult{}, err
			}
			start, cpu0 := time.Now(), cputime.Process()
			if _, _, err := e.Forward(&ws[i], in); err != nil {
				return benchResult{}, err
			}
			dt, dc := time.Since(start).Seconds(), (cputime.Process() - cpu0).Seconds()
			if r >= warmup {
				times[i], cpu[i] = append(times[i], dt), append(cpu[i], dc)
			}
			if opt.Log != nil {
				fmt.Fprintf(opt.Log, "round %d, %s: %.4f s\n", r, opt.Models[i], dt)
			}
		}
	}
	median := func(x []float64) float64 {
		x = slices.Clone(x)
		slices.Sort(x)
		return x[len(x)/2]
	}
	var detail []string
	for i, e := range encs {
		ratios := make([]float64, rounds)
		for r := range ratios {
			ratios[r] = times[0][r] / times[i][r]
		}
		line := fmt.Sprintf("%s (%d layers, %d wide): %.1f sequences/s (median %.4f s per %d×%d batch of %d rounds; CPU %.4f s)",
			filepath.Base(filepath.Clean(opt.Models[i])), e.Config.NumLayers, e.Config.HiddenSize, B/median(times[i]), median(times[i]),
			B, T, rounds, median(cpu[i]))
		if i > 0 {
			line += fmt.Sprintf(", %.2f× the first (median of per-round ratios; range %.2f–%.2f; CPU time %.2f×)",
				median(ratios), slices.Min(ratios), slices.Max(ratios), median(cpu[0])/median(cpu[i]))
		}
		detail = append(detail, line)
	}
	return benchResult{
		Value:  B / median(times[0]),
		Unit:   "sequences/s",
		Detail: strings.Join(detail, "\n"),
	}, nil
}
