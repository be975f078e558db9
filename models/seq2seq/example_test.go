package seq2seq_test

import (
	"context"
	"fmt"
	"slices"

	"github.com/glossa-ai/glossa/models/seq2seq"
)

// Translation in two steps: encode a padded batch of two sources once, then
// beam search from the decoder start token over the memory. Each source's
// result equals its own unbatched run. The model is a random Marian (the
// opus-mt layout at a tiny size); Load reads a Hugging Face folder instead.
func Example() {
	config := []byte(`{"model_type": "marian", "vocab_size": 100, "d_model": 16, "encoder_layers": 2,
		"decoder_layers": 2, "encoder_attention_heads": 2, "decoder_attention_heads": 2, "encoder_ffn_dim": 32,
		"decoder_ffn_dim": 32, "activation_function": "swish", "max_position_embeddings": 32,
		"scale_embedding": true, "pad_token_id": 99, "eos_token_id": 0, "decoder_start_token_id": 99}`)
	m, err := seq2seq.New(config, 1, nil)
	if err != nil {
		panic(err)
	}
	sources := [][]int{{12, 40, 7, 0}, {33, 0}} // each ends with EOS (0)
	mem, err := m.EncodeRows(sources)           // right-padded to [2, 4] with a mask
	if err != nil {
		panic(err)
	}
	opts := m.GenerateOptions() // generation_config.json's defaults; here HF's
	opts.NumBeams, opts.MaxNewTokens, opts.MinLength = 4, 6, 7
	batch, err := m.Generate(context.Background(), mem, opts)
	if err != nil {
		panic(err)
	}
	for i, src := range sources {
		one, _ := m.EncodeRows([][]int{src})
		alone, _ := m.Generate(context.Background(), one, opts)
		fmt.Println(len(batch[i].Tokens), slices.Equal(batch[i].Tokens, alone[0].Tokens))
	}
	// Output:
	// 6 true
	// 6 true
}
