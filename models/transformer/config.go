// Package transformer is the encoder-decoder Transformer of Vaswani et al.
// (2017), "Attention Is All You Need", as a trainable autograd model in the
// layout of Hugging Face's MarianMTModel: sinusoidal positions (sines in
// the first half of the features, cosines in the second), token embeddings
// scaled by √C and shared by the encoder, the decoder and — tied — the
// output projection, post-LN layers, and a final_logits_bias. A trained
// model is saved as a MarianMTModel folder (config.json,
// generation_config.json, model.safetensors), so models/seq2seq, glossa
// translate, glossa eval and the pipelines load it unchanged.
//
// The model is the training side; inference runs on models/seq2seq, which
// needs no tape.
package transformer

import (
	"fmt"

	"github.com/glossa-ai/glossa/nn"
)

// Config describes a Transformer. The JSON names are MarianConfig's.
type Config struct {
	Vocab         int     // V: shared source and target vocabulary
	Dim           int     // C: d_model
	Heads         int     // attention heads (encoder and decoder)
	FFN           int     // feed-forward width (zero: 4·Dim)
	EncoderLayers int     // encoder layers
	DecoderLayers int     // decoder layers
	MaxLen        int     // longest source or target, in tokens (zero: 256)
	Dropout       float32 // dropout on embeddings, residual branches, attention probabilities and the FFN (zero: none)
	// Activation of the feed-forward networks (zero value: GELU; the
	// original Transformer uses ReLU, Marian's opus-mt models swish).
	Activation nn.Activation
	PadID      int // padding, and (Marian's convention) the decoder start token
	EOSID      int // end of sequence, appended to sources and targets
}

// Base returns the shape the Multi30k recipe trains: 3+3 layers, d_model
// 256, 4 heads, FFN 1024, dropout 0.1, ReLU.
func Base(vocab, padID, eosID int) Config {
	return Config{Vocab: vocab, Dim: 256, Heads: 4, FFN: 1024, EncoderLayers: 3, DecoderLayers: 3,
		MaxLen: 256, Dropout: 0.1, Activation: nn.ReLU, PadID: padID, EOSID: eosID}
}

func (c Config) withDefaults() Config {
	if c.FFN == 0 {
		c.FFN = 4 * c.Dim
	}
	if c.MaxLen == 0 {
		c.MaxLen = 256
	}
	return c
}

// Validate reports a configuration that cannot be built.
func (c Config) Validate() error {
	c = c.withDefaults()
	switch {
	case c.Vocab <= 0 || c.Dim <= 0 || c.Heads <= 0 || c.FFN <= 0 || c.MaxLen <= 0:
		return fmt.Errorf("transformer: vocab %d, dim %d, heads %d, ffn %d and max length %d must be positive",
			c.Vocab, c.Dim, c.Heads, c.FFN, c.MaxLen)
	case c.Dim%c.Heads != 0:
		return fmt.Errorf("transformer: dim %d is not a multiple of heads %d", c.Dim, c.Heads)
	case c.EncoderLayers <= 0 || c.DecoderLayers <= 0 || c.EncoderLayers > 64 || c.DecoderLayers > 64:
		return fmt.Errorf("transformer: %d encoder and %d decoder layers: want 1 to 64 each", c.EncoderLayers, c.DecoderLayers)
	case c.Dropout < 0 || c.Dropout >= 1:
		return fmt.Errorf("transformer: dropout %g outside [0, 1)", c.Dropout)
	case c.PadID < 0 || c.PadID >= c.Vocab || c.EOSID < 0 || c.EOSID >= c.Vocab || c.PadID == c.EOSID:
		return fmt.Errorf("transformer: pad id %d and eos id %d must be distinct ids below the vocabulary size %d", c.PadID, c.EOSID, c.Vocab)
	case c.Activation == nn.SwiGLU:
		return fmt.Errorf("transformer: a gated (SwiGLU) feed-forward network has no MarianMTModel layout")
	}
	return nil
}
