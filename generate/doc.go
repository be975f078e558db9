// Package generate decodes text from causal language models.
//
// Generate drives any model that implements LM — a NewState that allocates a
// session (KV cache and scratch) for a batch, and a Forward that appends
// tokens to it and returns the next-token logits — through a prefill of the
// prompts and then one token per step:
//
//   - greedy decoding or sampling (temperature, top-k, top-p, min-p) from a
//     seeded RNG, after repetition, presence and frequency penalties, in the
//     order Hugging Face's generate applies them (sample.go);
//   - beam search with Hugging Face's semantics for num_beams, length_penalty,
//     early_stopping (true, false, "never") and num_return_sequences
//     (beam.go);
//   - Hugging Face's logits processors for every method: no_repeat_ngram_size,
//     bad_words_ids, min_length / min_new_tokens, forced_bos_token_id /
//     forced_eos_token_id and renormalize_logits (process.go);
//   - stop tokens (EOS), stop strings and a token budget;
//   - batches of prompts of different lengths, left-padded with a mask so that
//     each row's positions are cumsum(mask)−1 and every row equals its
//     single-prompt run;
//   - streaming of tokens and decoded text pieces to callbacks
//     (Options.OnToken, Options.OnText) or a channel (GenerateChan), and
//     cancellation through a context.Context.
//
// models/llama's *Model implements LM; so can any decoder that keeps its own
// per-session state, such as the decoder of an encoder-decoder model over
// its encoder's memory (models/seq2seq), whose prompt is its decoder start
// token.
package generate
