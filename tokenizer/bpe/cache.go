package bpe

import "strings"

// DefaultCacheSize is the number of distinct words a Model remembers the
// merges of when Options.CacheSize is zero, per concurrent encoder.
const DefaultCacheSize = 1 << 16

// wordCache is a bounded map from a pre-token to its token ids. Each encoder
// owns one, so lookups take no lock and touch no shared cache line: with a
// shared cache, even read locks bounce one counter between cores and batch
// encoding stops scaling. A cache that fills up is emptied and starts over,
// which bounds memory while letting it follow the text's vocabulary.
type wordCache struct {
	limit int
	m     map[string][]int32
}

func newWordCache(limit int) *wordCache {
	return &wordCache{limit: limit, m: make(map[string][]int32)}
}

// get returns the cached ids of word; the slice must not be modified.
func (c *wordCache) get(word string) ([]int32, bool) {
	ids, ok := c.m[word]
	return ids, ok
}

// put stores a copy of ids for word.
func (c *wordCache) put(word string, ids []int32) {
	if len(c.m) >= c.limit {
		clear(c.m)
	}
	c.m[strings.Clone(word)] = append([]int32(nil), ids...)
}
