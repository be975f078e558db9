package unigram

import (
	"sort"
	"strings"
)

// pieceArray is a double array (see buildDoubleArray) from the pieces
// segmentation may use to their ids: one array access per byte of text,
// which is what makes the Viterbi search fast. Pieces containing a NUL byte
// are left out (a NUL in the text matches nothing).
type pieceArray []uint32

// newPieceArray builds the array; the first of equal keys keeps its id.
func newPieceArray(keys []string, ids []int32) pieceArray {
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
	return buildDoubleArray(sorted, values)
}

// root returns the position of the root's children.
func (a pieceArray) root() uint32 { return unitOffset(a[0]) }

// step follows byte c from the children at pos: the new children position,
// the id of the piece ending there (-1 if none), and false when no piece
// continues with c.
func (a pieceArray) step(pos uint32, c byte) (next uint32, id int32, ok bool) {
	if c == 0 {
		return 0, -1, false
	}
	pos ^= uint32(c)
	u := a[pos]
	if unitLabel(u) != uint32(c) {
		return 0, -1, false
	}
	pos ^= unitOffset(u)
	if !unitHasLeaf(u) {
		return pos, -1, true
	}
	return pos, int32(unitValue(a[pos])), true
}
