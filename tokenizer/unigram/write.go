package unigram

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"

	"github.com/glossa-ai/glossa/internal/atomicfile"
)

// errNotSPM is returned when a model cannot be written as a .model file.
var errNotSPM = errors.New("unigram: only models loaded from or trained as SentencePiece models can be written (not tokenizer.json models or WithVocab copies)")

// WriteModel writes the model as a SentencePiece model file (ModelProto),
// which sentencepiece, Hugging Face's slow tokenizers and ParseModel load.
func (m *Model) WriteModel(w io.Writer) error {
	if m.proto == nil || m.remap != nil {
		return errNotSPM
	}
	_, err := w.Write(m.proto.Marshal())
	return err
}

// WriteVocab writes sentencepiece's .vocab listing: one "piece<TAB>score"
// line per id.
func (m *Model) WriteVocab(w io.Writer) error {
	if m.proto == nil || m.remap != nil {
		return errNotSPM
	}
	bw := bufio.NewWriter(w)
	for id, p := range m.pieces {
		bw.WriteString(p)
		bw.WriteByte('\t')
		// C++'s default stream format: %g with 6 significant digits.
		bw.WriteString(strconv.FormatFloat(float64(m.scores32[id]), 'g', 6, 64))
		bw.WriteByte('\n')
	}
	return bw.Flush()
}

// WriteTokenizerJSON writes a Hugging Face tokenizer.json equivalent to the
// SentencePiece model, as transformers' converter builds one: a Unigram
// model with the pieces and scores, the charsmap as a Precompiled
// normalizer, whitespace collapsed and split (when the model removes extra
// whitespace), a Metaspace pre-tokenizer and decoder (with ByteFallback
// under byte fallback), and control, unknown and user-defined pieces as
// added tokens. FromTokenizerJSON and Hugging Face tokenizers load it; on
// ordinary text both encode as the .model does.
func (m *Model) WriteTokenizerJSON(w io.Writer) error {
	if m.proto == nil || m.remap != nil {
		return errNotSPM
	}
	type added struct {
		ID         int    `json:"id"`
		Content    string `json:"content"`
		SingleWord bool   `json:"single_word"`
		LStrip     bool   `json:"lstrip"`
		RStrip     bool   `json:"rstrip"`
		Normalized bool   `json:"normalized"`
		Special    bool   `json:"special"`
	}
	obj := func(kv ...any) *orderedObject { return &orderedObject{kv: kv} }
	var tokens []added
	for id, t := range m.types {
		if t == Control || t == Unknown || t == UserDefined {
			tokens = append(tokens, added{ID: id, Content: m.pieces[id], Special: t != UserDefined})
		}
	}
	nm := m.norm
	var norms []any
	if nm.cmap != nil {
		norms = append(norms, obj("type", "Precompiled", "precompiled_charsmap",
			base64.StdEncoding.EncodeToString(m.proto.Normalizer.PrecompiledCharsmap)))
	}
	var pres []any
	prepend := "never"
	if nm.dummyPrefix {
		prepend = "always"
	}
	if nm.removeExtra {
		pres = append(pres, obj("type", "WhitespaceSplit"))
	}
	pres = append(pres, obj("type", "Metaspace", "replacement", metaspace, "prepend_scheme", prepend, "split", true))
	var normalizer any
	if len(norms) > 0 {
		normalizer = obj("type", "Sequence", "normalizers", norms)
	}
	var decoder any = obj("type", "Metaspace", "replacement", metaspace, "prepend_scheme", prepend, "split", true)
	if m.hasBytes() {
		decoder = obj("type", "Sequence", "decoders", []any{obj("type", "ByteFallback"), decoder})
	}
	vocab := make([][2]any, len(m.pieces))
	for id, p := range m.pieces {
		vocab[id] = [2]any{p, float64(m.scores32[id])}
	}
	doc := obj(
		"version", "1.0",
		"truncation", nil,
		"padding", nil,
		"added_tokens", tokens,
		"normalizer", normalizer,
		"pre_tokenizer", obj("type", "Sequence", "pretokenizers", pres),
		"post_processor", nil,
		"decoder", decoder,
		"model", obj("type", "Unigram", "unk_id", m.unk, "vocab", vocab, "byte_fallback", m.hasBytes()),
	)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// SaveDir writes tokenizer.model, tokenizer.vocab and tokenizer.json into
// dir (which must exist), each atomically.
func (m *Model) SaveDir(dir string) error {
	for _, f := range []struct {
		name  string
		write func(io.Writer) error
	}{{"tokenizer.model", m.WriteModel}, {"tokenizer.vocab", m.WriteVocab}, {"tokenizer.json", m.WriteTokenizerJSON}} {
		if err := atomicfile.Write(filepath.Join(dir, f.name), f.write); err != nil {
			return fmt.Errorf("unigram: save %s: %w", f.name, err)
		}
	}
	return nil
}

// orderedObject is a JSON object whose keys keep their order.
type orderedObject struct{ kv []any }

// MarshalJSON writes the object with its keys in order.
func (o *orderedObject) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i := 0; i+1 < len(o.kv); i += 2 {
		if i > 0 {
			buf.WriteByte(',')
		}
		k, _ := json.Marshal(o.kv[i])
		buf.Write(k)
		buf.WriteByte(':')
		var vb bytes.Buffer
		enc := json.NewEncoder(&vb)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(o.kv[i+1]); err != nil {
			return nil, err
		}
		buf.Write(bytes.TrimSuffix(vb.Bytes(), []byte("\n")))
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}
