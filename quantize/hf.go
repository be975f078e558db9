package quantize

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/glossa-ai/glossa/checkpoint"
	"github.com/glossa-ai/glossa/checkpoint/gguf"
	"github.com/glossa-ai/glossa/models/llama"
)

// openHF opens a Hugging Face LlamaForCausalLM folder. The tensors take
// llama.cpp's names; q_proj and k_proj rows are permuted back from HF's
// rotate-half layout to Meta's interleaved one. The vocabulary is
// Options.Tokenizer or the folder's tokenizer.model (or tokenizer.bin), and
// tokenizer_config.json adds the chat template and add_bos/add_eos.
func openHF(dir, name string, opts Options, ftype uint32) (*source, error) {
	var head struct {
		ModelType string `json:"model_type"`
	}
	if err := checkpoint.ReadJSON(filepath.Join(dir, "config.json"), &head, 16<<20); err != nil {
		return nil, fmt.Errorf("quantize: %w", err)
	}
	switch head.ModelType {
	case "gpt2":
		return openHFGPT2(dir, name, opts, ftype)
	case "llama", "":
	default:
		return nil, fmt.Errorf("quantize: %s: model_type %q is not supported (llama, gpt2)", dir, head.ModelType)
	}
	cfg, err := llama.ReadConfig(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, fmt.Errorf("quantize: %w", err)
	}
	H, Hkv, C := cfg.NumHeads, cfg.NumKVHeads, cfg.HiddenSize
	if Hkv == 0 {
		Hkv = H
	}
	D := cfg.HeadDim
	if D == 0 {
		D = C / H
	}
	eps, theta, ctx := cfg.RMSNormEps, cfg.RopeTheta, cfg.MaxPositions
	if eps == 0 {
		eps = 1e-6
	}
	if theta == 0 {
		theta = 10000
	}
	if ctx == 0 {
		ctx = 2048
	}
	tokPath := opts.Tokenizer
	if tokPath == "" {
		tokPath = dir
	}
	tk, err := readVocabulary(tokPath, cfg.VocabSize)
	if err != nil {
		return nil, err
	}
	if err := readTokenizerConfig(dir, tk); err != nil {
		return nil, err
	}
	if cfg.BOSTokenID != nil && *cfg.BOSTokenID >= 0 && *cfg.BOSTokenID < len(tk.Tokens) {
		tk.BOS = *cfg.BOSTokenID
	}
	if len(cfg.EOSTokenIDs) > 0 && cfg.EOSTokenIDs[0] >= 0 && cfg.EOSTokenIDs[0] < len(tk.Tokens) {
		tk.EOS = cfg.EOSTokenIDs[0]
	}
	fo, err := checkpoint.OpenFolder(dir)
	if err != nil {
		return nil, fmt.Errorf("quantize: %w", err)
	}
	src := &source{tok: tk, close: fo.Close}
	src.meta = llamaMeta(name, ftype, llamaHParams{
		vocab: cfg.VocabSize, context: ctx, embedding: C, ffn: cfg.Intermediate, blocks: cfg.NumLayers,
		heads: H, kvHeads: Hkv, ropeDim: D, ropeBase: float32(theta), eps: float32(eps),
	})
	hasOutput := false
	for _, hf := range fo.Names() {
		if strings.HasSuffix(hf, "rotary_emb.inv_freq") {
			continue
		}
		full := hf
		if !strings.HasPrefix(full, "model.") && full != "lm_head.weight" {
			full = "model." + full // saved from LlamaModel
		}
		gname := llama.GGUFName(full)
		if gname == full || strings.HasPrefix(gname, "model.") {
			fo.Close()
			return nil, fmt.Errorf("quantize: %s: tensor %q has no llama.cpp name", dir, hf)
		}
		if gname == "output.weight" {
			hasOutput = true
		}
		info, _ := fo.Info(hf)
		from := dtypeType(info.DType)
		heads := 0
		switch {
		case strings.HasSuffix(gname, ".attn_q.weight"):
			heads = H
		case strings.HasSuffix(gname, ".attn_k.weight"):
			heads = Hkv
		}
		hfName, shape := hf, info.Shape
		src.tensors = append(src.tensors, item{name: gname, shape: shape, from: from,
			data: func() ([]float32, error) {
				x, err := fo.Float32(hfName)
				if err != nil || heads == 0 {
					return x, err
				}
				return unpermuteRoPE(x, shape, heads)
			}})
	}
	src.tied = !hasOutput || cfg.TieEmbeddings
	return src, nil
}

// unpermuteRoPE undoes the row permutation of HF's conversion script for a
// q or k projection of heads heads ([heads·D, C]): HF row h·D + s·D/2 + i
// (s = 0, 1) goes back to row h·D + 2i + s, as llama.cpp's
// LlamaModel.permute does.
func unpermuteRoPE(x []float32, shape []int, heads int) ([]float32, error) {
	if len(shape) != 2 || shape[0]%heads != 0 || (shape[0]/heads)%2 != 0 {
		return nil, fmt.Errorf("tensor of shape %v cannot be split into %d heads of even size", shape, heads)
	}
	rows, C := shape[0], shape[1]
	D := rows / heads
	out := make([]float32, len(x))
	for h := range heads {
		for s := range 2 {
			for i := range D / 2 {
				src := h*D + s*D/2 + i
				dst := h*D + 2*i + s
				copy(out[dst*C:(dst+1)*C], x[src*C:(src+1)*C])
			}
		}
	}
	return out, nil
}

// readTokenizerConfig reads the chat template and the add_bos_token /
// add_eos_token flags of tokenizer_config.json, when the folder has one.
func readTokenizerConfig(dir string, tk *gguf.Tokenizer) error {
	path := filepath.Join(dir, "tokenizer_config.json")
	if !isFile(path) {
		return nil
	}
	var tc struct {
		ChatTemplate any   `json:"chat_template"`
		AddBOS       *bool `json:"add_bos_token"`
		AddEOS       *bool `json:"add_eos_token"`
	}
	if err := checkpoint.ReadJSON(path, &tc, 16<<20); err != nil {
		return fmt.Errorf("quantize: %w", err)
	}
	if s, ok := tc.ChatTemplate.(string); ok {
		tk.ChatTemplate = s
	}
	if tc.AddBOS != nil {
		tk.AddBOS = tc.AddBOS
	}
	if tc.AddEOS != nil {
		tk.AddEOS = tc.AddEOS
	}
	return nil
}
