package gguf

import "fmt"

// SetTokenizer writes the vocabulary tk as tokenizer.* metadata, in the
// order llama.cpp's converters write it: model, pre, tokens, scores, token
// types, merges, the special ids (UINT32; negative ones are left out), the
// add_* flags that are set, and the chat template when not empty. The
// scores and token types, when present, must have one entry per token.
func (w *Writer) SetTokenizer(tk *Tokenizer) error {
	n := len(tk.Tokens)
	switch {
	case tk.Model == "":
		return fmt.Errorf("gguf: set tokenizer: no model name")
	case n == 0:
		return fmt.Errorf("gguf: set tokenizer: no tokens")
	case tk.Scores != nil && len(tk.Scores) != n:
		return fmt.Errorf("gguf: set tokenizer: %d scores for %d tokens", len(tk.Scores), n)
	case tk.Types != nil && len(tk.Types) != n:
		return fmt.Errorf("gguf: set tokenizer: %d token types for %d tokens", len(tk.Types), n)
	}
	type entry struct {
		key string
		v   any
	}
	kvs := []entry{{KeyTokenizerModel, tk.Model}}
	if tk.Pre != "" {
		kvs = append(kvs, entry{KeyTokenizerPre, tk.Pre})
	}
	kvs = append(kvs, entry{KeyTokens, tk.Tokens})
	if tk.Scores != nil {
		kvs = append(kvs, entry{KeyScores, tk.Scores})
	}
	if tk.Types != nil {
		types := make([]int32, n)
		for i, t := range tk.Types {
			types[i] = int32(t)
		}
		kvs = append(kvs, entry{KeyTokenTypes, types})
	}
	if tk.Merges != nil {
		kvs = append(kvs, entry{KeyMerges, tk.Merges})
	}
	for _, id := range []struct {
		key string
		id  int
	}{{KeyUNKID, tk.UNK}, {KeyBOSID, tk.BOS}, {KeyEOSID, tk.EOS}, {KeyPADID, tk.PAD}, {KeySEPID, tk.SEP},
		{KeyCLSID, tk.CLS}, {KeyMaskID, tk.Mask}, {KeyEOTID, tk.EOT}} {
		if id.id >= n {
			return fmt.Errorf("gguf: set tokenizer: %s %d outside %d tokens", id.key, id.id, n)
		}
		if id.id >= 0 {
			kvs = append(kvs, entry{id.key, uint32(id.id)})
		}
	}
	for _, b := range []struct {
		key string
		v   *bool
	}{{KeyAddBOS, tk.AddBOS}, {KeyAddEOS, tk.AddEOS}, {KeyAddSpacePrefix, tk.AddSpacePrefix}} {
		if b.v != nil {
			kvs = append(kvs, entry{b.key, *b.v})
		}
	}
	if tk.ChatTemplate != "" {
		kvs = append(kvs, entry{KeyChatTemplate, tk.ChatTemplate})
	}
	for _, e := range kvs {
		if err := w.Set(e.key, e.v); err != nil {
			return err
		}
	}
	return nil
}
