package bpe

import (
	"hash/maphash"
	"strings"
	"sync"
)

// DefaultCacheSize is the number of distinct words a Model remembers the
// merges of when Options.CacheSize is zero.
const DefaultCacheSize = 1 << 16

const cacheShards = 32

// wordCache is a bounded, concurrency-safe map from a pre-token to its token
// ids. It is split into shards with their own locks so parallel encoders
// rarely contend; a shard that fills up is emptied and starts over, which
// bounds memory while letting the cache follow the text's vocabulary.
type wordCache struct {
	seed     maphash.Seed
	perShard int
	shards   [cacheShards]cacheShard
}

type cacheShard struct {
	mu sync.RWMutex
	m  map[string][]int32
	_  [40]byte // keep shards on separate cache lines
}

func newWordCache(capacity int) *wordCache {
	c := &wordCache{seed: maphash.MakeSeed(), perShard: max(1, capacity/cacheShards)}
	for i := range c.shards {
		c.shards[i].m = make(map[string][]int32)
	}
	return c
}

func (c *wordCache) shard(word string) *cacheShard {
	return &c.shards[maphash.String(c.seed, word)%cacheShards]
}

// get returns the cached ids of word; the slice must not be modified.
func (c *wordCache) get(word string) ([]int32, bool) {
	s := c.shard(word)
	s.mu.RLock()
	ids, ok := s.m[word]
	s.mu.RUnlock()
	return ids, ok
}

// put stores a copy of ids for word.
func (c *wordCache) put(word string, ids []int32) {
	s := c.shard(word)
	own := append([]int32(nil), ids...)
	key := strings.Clone(word)
	s.mu.Lock()
	if len(s.m) >= c.perShard {
		clear(s.m)
	}
	s.m[key] = own
	s.mu.Unlock()
}
