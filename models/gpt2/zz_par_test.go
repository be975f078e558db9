package gpt2

import (
	"runtime"
	"testing"
	"time"

	"github.com/glossa-ai/glossa/tensor"
)

func TestZZPhases(t *testing.T) {
	cfg := Config{VocabSize: 65, NumPos: 64, NumEmbd: 128, NumLayer: 4, NumHead: 4, ActivationFunction: "gelu"}
	const B, T = 32, 64
	N, C, F, H := B*T, 128, 512, 4
	for _, th := range []int{1, 2} {
		runtime.GOMAXPROCS(th)
		rng := tensor.NewRNG(0)
		m, _ := New(cfg, rng)
		tr := NewTrainer(m)
		x := make([]int, B*T)
		tr.Forward(x, B, T)
		a := tr.acts
		la := &a.layers[0]
		w := &m.W.Blocks[0]
		g := &m.G.Blocks[0]
		time1 := func(name string, f func()) {
			f()
			t0 := time.Now()
			for i := 0; i < 20; i++ {
				f()
			}
			t.Logf("threads %d %-12s %8.3f ms", th, name, float64(time.Since(t0).Microseconds())/20/1000)
		}
		time1("ln", func() { layerNormForward(la.ln1, la.ln1Mean, la.ln1Rstd, a.encoded, w.Ln1W, w.Ln1B, N, C, 1e-5) })
		time1("qkv", func() { conv1dForward(la.qkv, la.ln1, w.AttnW, w.AttnB, N, C, 3*C) })
		time1("attn", func() { attentionForward(la.atty, la.att, la.qkv, B, T, C, H) })
		time1("fc", func() { conv1dForward(la.fch, la.ln2, w.FcW, w.FcB, N, C, F) })
		time1("gelu", func() { activationForward(cfg.Activation, la.fchAct, la.fch) })
		time1("fcproj", func() { residualConv1dForward(la.res3, la.res2, la.fchAct, w.FcProjW, w.FcProjB, N, F, C) })
		time1("fcproj-bwd", func() { conv1dBackward(a.dfch, g.FcProjW, g.FcProjB, a.dres, la.fchAct, w.FcProjW, N, F, C) })
		time1("attn-bwd", func() { attentionBackward(a.dqkv, a.datt, a.datty, la.att, la.qkv, B, T, C, H) })
		time1("ln-bwd", func() {
			layerNormBackward(a.datty, g.Ln1W, g.Ln1B, a.dtmp, a.encoded, w.Ln1W, la.ln1Mean, la.ln1Rstd, a.lnScratch, N, C)
		})
		time1("qkv-bwd", func() { conv1dBackward(a.dtmp, g.AttnW, g.AttnB, a.dqkv, la.ln1, w.AttnW, N, C, 3*C) })
	}
}
