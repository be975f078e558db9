package unigram

import (
	"sort"
	"strings"

	"github.com/glossa-ai/glossa/tokenizer/internal/spmodel"
)

// newPieceArray builds the double array from the pieces segmentation may
// use to their ids: one array access per byte of text, which is what makes
// the Viterbi search fast. The first of equal keys keeps its id; pieces
// containing a NUL byte are left out (a NUL in the text matches nothing).
func newPieceArray(keys []string, ids []int32) spmodel.DoubleArray {
	type kv struct {
		key string
		id  int32
	}
	kvs := make([]kv, 0, len(keys))
	for i, k := range keys {
		if k != "" && !strings.Contains(k, "\x00") {
			kvs = append(kvs, kv{k, ids[i]})
		}
	}
	sort.SliceStable(kvs, func(i, j int) bool { return kvs[i].key < kvs[j].key })
	var sorted []string
	var values []uint32
	for i, e := range kvs {
		if i > 0 && e.key == kvs[i-1].key {
			continue
		}
		sorted, values = append(sorted, e.key), append(values, uint32(e.id))
	}
	return spmodel.BuildDoubleArray(sorted, values)
}
