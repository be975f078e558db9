package bpe

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
)

// jsonString writes s as a JSON string, without escaping <, > and &.
func jsonString(w *bufio.Writer, s string) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.Encode(s) // cannot fail for a string
	w.Write(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}

// writeVocab writes the vocabulary as a JSON object in id order.
func (m *Model) writeVocab(w *bufio.Writer, indent string) {
	w.WriteString("{")
	first := true
	for id, tok := range m.tokens {
		if tok == "" || m.ids[tok] != id {
			continue
		}
		if !first {
			w.WriteString(",")
		}
		first = false
		w.WriteString("\n" + indent)
		jsonString(w, tok)
		fmt.Fprintf(w, ": %d", id)
	}
	w.WriteString("\n" + indent[:max(0, len(indent)-2)] + "}")
}

// WriteEncoderJSON writes the vocabulary as GPT-2's encoder.json.
func (m *Model) WriteEncoderJSON(out io.Writer) error {
	w := bufio.NewWriter(out)
	m.writeVocab(w, "  ")
	w.WriteString("\n")
	return w.Flush()
}

// WriteMerges writes the merges as GPT-2's vocab.bpe.
func (m *Model) WriteMerges(out io.Writer) error {
	w := bufio.NewWriter(out)
	w.WriteString("#version: 0.2\n")
	for _, p := range m.merges {
		w.WriteString(m.tokens[p[0]] + " " + m.tokens[p[1]] + "\n")
	}
	return w.Flush()
}

// WriteTokenizerJSON writes a complete Hugging Face tokenizer.json for the
// model: ByteLevel pre-tokenizer, post-processor and decoder, a BPE model
// with the vocabulary and merges, and the special tokens as added tokens.
// FromTokenizerJSON and Hugging Face tokenizers both load it.
func (m *Model) WriteTokenizerJSON(out io.Writer) error {
	w := bufio.NewWriter(out)
	w.WriteString("{\n  \"version\": \"1.0\",\n  \"truncation\": null,\n  \"padding\": null,\n  \"added_tokens\": [")
	first := true
	for id, tok := range m.tokens {
		if !m.special[id] {
			continue
		}
		if !first {
			w.WriteString(",")
		}
		first = false
		fmt.Fprintf(w, "\n    {\"id\": %d, \"content\": ", id)
		jsonString(w, tok)
		w.WriteString(", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true}")
	}
	if !first {
		w.WriteString("\n  ")
	}
	w.WriteString("],\n  \"normalizer\": null,\n")
	fmt.Fprintf(w, "  \"pre_tokenizer\": {\"type\": \"ByteLevel\", \"add_prefix_space\": %t, \"trim_offsets\": true, \"use_regex\": true},\n", m.prefix)
	w.WriteString("  \"post_processor\": {\"type\": \"ByteLevel\", \"add_prefix_space\": true, \"trim_offsets\": false, \"use_regex\": true},\n")
	w.WriteString("  \"decoder\": {\"type\": \"ByteLevel\", \"add_prefix_space\": true, \"trim_offsets\": true, \"use_regex\": true},\n")
	w.WriteString("  \"model\": {\n    \"type\": \"BPE\",\n    \"dropout\": null,\n    \"unk_token\": ")
	if m.unk >= 0 {
		jsonString(w, m.tokens[m.unk])
	} else {
		w.WriteString("null")
	}
	w.WriteString(",\n    \"continuing_subword_prefix\": null,\n    \"end_of_word_suffix\": null,\n    \"fuse_unk\": false,\n    \"byte_fallback\": false,\n    \"ignore_merges\": false,\n    \"vocab\": ")
	m.writeVocab(w, "      ")
	w.WriteString(",\n    \"merges\": [")
	for i, p := range m.merges {
		if i > 0 {
			w.WriteString(",")
		}
		w.WriteString("\n      ")
		jsonString(w, m.tokens[p[0]]+" "+m.tokens[p[1]])
	}
	if len(m.merges) > 0 {
		w.WriteString("\n    ")
	}
	w.WriteString("]\n  }\n}\n")
	return w.Flush()
}
