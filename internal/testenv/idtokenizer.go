package testenv

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// IDTokenizer writes, into a temporary folder it returns, the tokenizer.json
// of a WordPiece vocabulary of 1,000 ids whose words are "w<id>", laid out
// as BERT ([CLS] 101, [SEP] 102, [MASK] 103, [UNK] 100, [PAD] 0) or, with
// roberta, as RoBERTa (<s> 0, <pad> 1, </s> 2, <unk> 3, <mask> 999). The
// encoder fixtures of ../shared/fixtures come without tokenizers: with
// this one a text of those words encodes to the golden ids, so pipelines
// and servers run on them whole.
func IDTokenizer(t testing.TB, roberta bool) string {
	t.Helper()
	vocab := map[string]int{}
	specials := map[int]string{0: "[PAD]", 100: "[UNK]", 101: "[CLS]", 102: "[SEP]", 103: "[MASK]"}
	cls, sep := []any{"[CLS]", 101}, []any{"[SEP]", 102}
	unk, kind := "[UNK]", "BertProcessing"
	if roberta {
		specials = map[int]string{0: "<s>", 1: "<pad>", 2: "</s>", 3: "<unk>", 999: "<mask>"}
		cls, sep, unk, kind = []any{"<s>", 0}, []any{"</s>", 2}, "<unk>", "RobertaProcessing"
	}
	var added []map[string]any
	for id := range 1000 {
		if s, ok := specials[id]; ok {
			vocab[s] = id
			added = append(added, map[string]any{"id": id, "content": s, "special": true})
		} else {
			vocab[fmt.Sprintf("w%d", id)] = id
		}
	}
	tj := map[string]any{
		"added_tokens":   added,
		"normalizer":     map[string]any{"type": "BertNormalizer", "lowercase": true},
		"pre_tokenizer":  map[string]any{"type": "BertPreTokenizer"},
		"post_processor": map[string]any{"type": kind, "cls": cls, "sep": sep},
		"decoder":        map[string]any{"type": "WordPiece", "prefix": "##"},
		"model":          map[string]any{"type": "WordPiece", "vocab": vocab, "unk_token": unk},
	}
	raw, err := json.Marshal(tj)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "tokenizer.json"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}
