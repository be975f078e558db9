package data

import (
	"fmt"

	"github.com/glossa-ai/glossa/tokenizer"
)

// ClassExample is one tokenised classification example.
type ClassExample struct {
	InputIDs     []int32 // [CLS] text [SEP] (text_pair [SEP]) as the tokenizer's template says
	TokenTypeIDs []int32 // segment ids: 0 for text, 1 for text_pair
	Label        int32   // class id, or -1 when unlabelled
}

// EncodeClassification tokenises examples for sequence classification with
// tok's template, truncated (longest first) to maxLen tokens, specials
// included; pairs are encoded as pairs when any example has a Pair. labels
// holds the class id of each example (nil for unlabelled data, giving -1).
// Encoding runs in parallel (tokenizer.EncodeBatch).
func EncodeClassification(tok *tokenizer.Tokenizer, examples []Example, labels []int, maxLen int) ([]ClassExample, error) {
	if labels != nil && len(labels) != len(examples) {
		return nil, fmt.Errorf("data: %d examples but %d labels", len(examples), len(labels))
	}
	if maxLen < 3 {
		return nil, fmt.Errorf("data: classification max length %d must be at least 3", maxLen)
	}
	opts := tok.Options()
	opts.Truncation = tokenizer.Truncation{MaxLength: maxLen}
	opts.Padding = tokenizer.Padding{}
	t, err := tok.WithOptions(opts)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	texts := make([]string, len(examples))
	pairs := make([]string, len(examples))
	paired := false
	for i, e := range examples {
		texts[i], pairs[i] = e.Text, e.Pair
		paired = paired || e.Pair != ""
	}
	var encs []tokenizer.Encoding
	if paired {
		encs, err = t.EncodePairBatch(texts, pairs)
	} else {
		encs, err = t.EncodeBatch(texts)
	}
	if err != nil {
		return nil, fmt.Errorf("data: encode: %w", err)
	}
	out := make([]ClassExample, len(encs))
	for i, e := range encs {
		ids := make([]int32, len(e.IDs))
		types := make([]int32, len(e.IDs))
		for j := range e.IDs {
			ids[j] = int32(e.IDs[j])
			if j < len(e.TypeIDs) {
				types[j] = int32(e.TypeIDs[j])
			}
		}
		out[i] = ClassExample{InputIDs: ids, TokenTypeIDs: types, Label: -1}
		if labels != nil {
			out[i].Label = int32(labels[i])
		}
	}
	return out, nil
}

// ClassBatch is a padded batch for sequence classification, row-major
// [B, T] int32 arrays.
type ClassBatch struct {
	B, T          int     // batch size and padded sequence length
	InputIDs      []int32 // token ids, PadID after each sequence
	TokenTypeIDs  []int32 // segment ids, 0 on padding
	AttentionMask []int32 // 1 for tokens, 0 for padding
	Labels        []int32 // [B]
}

// CollateClassification pads examples to the longest (or padTo when
// larger) with padID.
func CollateClassification(examples []ClassExample, padID int32, padTo int) ClassBatch {
	T := padTo
	for _, e := range examples {
		T = max(T, len(e.InputIDs))
	}
	B := len(examples)
	b := ClassBatch{B: B, T: T, InputIDs: make([]int32, B*T), TokenTypeIDs: make([]int32, B*T),
		AttentionMask: make([]int32, B*T), Labels: make([]int32, B)}
	for i, e := range examples {
		row := b.InputIDs[i*T : (i+1)*T]
		n := copy(row, e.InputIDs)
		for j := n; j < T; j++ {
			row[j] = padID
		}
		copy(b.TokenTypeIDs[i*T:], e.TokenTypeIDs)
		for j := range n {
			b.AttentionMask[i*T+j] = 1
		}
		b.Labels[i] = e.Label
	}
	return b
}
