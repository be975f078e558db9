package auto

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/glossa-ai/glossa/tokenizer"
	"github.com/glossa-ai/glossa/tokenizer/internal/spmodel"
	"github.com/glossa-ai/glossa/tokenizer/unigram"
)

// The SentencePiece Unigram layouts of Hugging Face model folders:
//
//	T5, mT5     spiece.model (+ tokenizer_config.json: extra_ids, default 100)
//	            <extra_id_0> … <extra_id_{N-1}> are the last N ids, counting
//	            down from the end; A </s> and A </s> B </s>
//	Marian      source.spm (+ target.spm) + vocab.json: ids come from
//	            vocab.json; A </s> and A B </s>
//	XLM-R       sentencepiece.bpe.model: fairseq ids (<s> 0, <pad> 1, </s> 2,
//	            <unk> 3, the pieces shifted by one, <mask> last);
//	            <s> A </s> and <s> A </s></s> B </s>
//	other       *.model of type Unigram: sentencepiece's own ids, no template
//
// tokenizer_config.json's tokenizer_class, when present, chooses between
// the first three; otherwise the file names do.

// hfTokenizerConfig is the part of tokenizer_config.json read here.
type hfTokenizerConfig struct {
	TokenizerClass string `json:"tokenizer_class"`
	ExtraIDs       *int   `json:"extra_ids"`
}

func readTokenizerConfig(dir string) (hfTokenizerConfig, error) {
	var cfg hfTokenizerConfig
	p := filepath.Join(dir, "tokenizer_config.json")
	if !exists(p) {
		return cfg, nil
	}
	data, err := readFile(p)
	if err != nil {
		return cfg, err
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		return cfg, fmt.Errorf("auto: %s: %w", p, err)
	}
	cfg.TokenizerClass = strings.TrimSuffix(strings.TrimSuffix(cfg.TokenizerClass, "Fast"), "Tokenizer")
	return cfg, nil
}

// loadSPMFile loads a SentencePiece model file of either type: BPE as Llama
// (BOS template), Unigram by its folder's layout.
func loadSPMFile(path string) (*tokenizer.Tokenizer, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	p, err := spmodel.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("auto: %s: %w", path, err)
	}
	if p.Trainer.ModelType != spmodel.Unigram {
		return sentencePieceBPE(data, path)
	}
	m, err := unigram.ParseModel(data)
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, path)
	}
	dir, base := filepath.Split(path)
	cfg, err := readTokenizerConfig(dir)
	if err != nil {
		return nil, err
	}
	switch {
	case cfg.TokenizerClass == "Marian" || cfg.TokenizerClass == "" && (base == "source.spm" || base == "target.spm") && exists(filepath.Join(dir, "vocab.json")):
		return marianTokenizer(m, filepath.Join(dir, "vocab.json"))
	case cfg.TokenizerClass == "T5" || cfg.TokenizerClass == "" && base == "spiece.model" && isT5(m):
		extra := 100
		if cfg.ExtraIDs != nil {
			extra = *cfg.ExtraIDs
		}
		return t5Tokenizer(m, extra)
	case cfg.TokenizerClass == "XLMRoberta" || cfg.TokenizerClass == "" && base == "sentencepiece.bpe.model":
		return xlmrTokenizer(m)
	}
	return unigramTokenizer(m, nil)
}

// isT5 reports whether the model has T5's first pieces: <pad> </s> <unk>.
func isT5(m *unigram.Model) bool {
	return m.PAD() == 0 && m.EOS() == 1 && m.UnknownID() == 2
}

// unigramTokenizer wraps a Unigram model: its control pieces and <unk> as
// special added tokens (user-defined pieces the model matches itself), and
// tmpl.
func unigramTokenizer(m *unigram.Model, tmpl *tokenizer.Template, extra ...tokenizer.AddedToken) (*tokenizer.Tokenizer, error) {
	var added []tokenizer.AddedToken
	for id := range m.VocabSize() {
		if t := m.Type(id); t == unigram.Control || t == unigram.Unknown {
			p, _ := m.IDToToken(id)
			added = append(added, tokenizer.AddedToken{Content: p, ID: id, Special: true})
		}
	}
	added = append(added, extra...)
	return tokenizer.New(m, tokenizer.Config{AddedTokens: added, Template: tmpl})
}

// eosTemplate is T5's and Marian's layout: A </s>, and for pairs either
// A </s> B </s> (T5) or A B </s> (Marian).
func eosTemplate(eos string, eosID int, eosBetween bool) *tokenizer.Template {
	t := &tokenizer.Template{Single: []tokenizer.Piece{tokenizer.Sequence(0, 0), tokenizer.Special(eos, eosID, 0)}}
	t.Pair = []tokenizer.Piece{tokenizer.Sequence(0, 0)}
	if eosBetween {
		t.Pair = append(t.Pair, tokenizer.Special(eos, eosID, 0))
	}
	t.Pair = append(t.Pair, tokenizer.Sequence(1, 0), tokenizer.Special(eos, eosID, 0))
	return t
}

// t5Tokenizer is Hugging Face's T5Tokenizer: the spiece.model ids, extra
// sentinel tokens <extra_id_i> at id size+extra-1-i, and </s> after each
// sequence.
func t5Tokenizer(m *unigram.Model, extra int) (*tokenizer.Tokenizer, error) {
	if extra < 0 || extra > 1<<16 {
		return nil, fmt.Errorf("auto: tokenizer_config.json: extra_ids %d out of range", extra)
	}
	eos := m.EOS()
	if eos < 0 {
		return nil, fmt.Errorf("auto: spiece.model has no </s> piece")
	}
	n := m.VocabSize()
	var sentinels []tokenizer.AddedToken
	for i := range extra {
		sentinels = append(sentinels, tokenizer.AddedToken{Content: fmt.Sprintf("<extra_id_%d>", i), ID: n + extra - 1 - i, Special: true})
	}
	eosText, _ := m.IDToToken(eos)
	return unigramTokenizer(m, eosTemplate(eosText, eos, true), sentinels...)
}

// languageCode matches Marian's target-language tokens, ">>fra<<".
var languageCode = regexp.MustCompile(`^>>.+<<$`)

// marianTokenizer is Hugging Face's MarianTokenizer: the source model's
// segmentation with vocab.json's ids (pieces it lacks become <unk>), </s>
// at the end, and language codes (">>fra<<") matched as tokens.
func marianTokenizer(m *unigram.Model, vocabPath string) (*tokenizer.Tokenizer, error) {
	data, err := readFile(vocabPath)
	if err != nil {
		return nil, err
	}
	var vocab map[string]int
	if err := json.Unmarshal(data, &vocab); err != nil {
		return nil, fmt.Errorf("auto: %s: %w", vocabPath, err)
	}
	mv, err := m.WithVocab(vocab, "<unk>")
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, vocabPath)
	}
	eos, ok := vocab["</s>"]
	if !ok {
		return nil, fmt.Errorf("auto: %s has no </s>", vocabPath)
	}
	var added []tokenizer.AddedToken
	for _, s := range []string{"</s>", "<unk>", "<pad>"} {
		if id, ok := vocab[s]; ok {
			added = append(added, tokenizer.AddedToken{Content: s, ID: id, Special: true})
		}
	}
	var codes []string
	for p := range vocab {
		if languageCode.MatchString(p) {
			codes = append(codes, p)
		}
	}
	sort.Strings(codes)
	for _, c := range codes {
		added = append(added, tokenizer.AddedToken{Content: c, ID: vocab[c]})
	}
	return tokenizer.New(mv, tokenizer.Config{AddedTokens: added, Template: eosTemplate("</s>", eos, false)})
}

// xlmrTokenizer is Hugging Face's XLMRobertaTokenizer: fairseq's ids over
// the SentencePiece pieces and RoBERTa's template.
func xlmrTokenizer(m *unigram.Model) (*tokenizer.Tokenizer, error) {
	n := m.VocabSize()
	vocab := map[string]int{"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
	for id := range n {
		p, _ := m.IDToToken(id)
		if _, fixed := vocab[p]; !fixed && id >= 3 {
			vocab[p] = id + 1
		}
	}
	vocab["<mask>"] = n + 1
	mv, err := m.WithVocab(vocab, "<unk>")
	if err != nil {
		return nil, fmt.Errorf("auto: sentencepiece.bpe.model is not laid out as XLM-R's: %w", err)
	}
	var added []tokenizer.AddedToken
	for _, s := range []string{"<s>", "<pad>", "</s>", "<unk>"} {
		added = append(added, tokenizer.AddedToken{Content: s, ID: vocab[s], Special: true})
	}
	added = append(added, tokenizer.AddedToken{Content: "<mask>", ID: n + 1, Special: true, LStrip: true})
	return tokenizer.New(mv, tokenizer.Config{AddedTokens: added, Template: tokenizer.RoBERTaTemplate("<s>", 0, "</s>", 2)})
}

func unigramFromJSON(data []byte) (tokenizer.Model, error) {
	return unigram.FromTokenizerJSON(data)
}
