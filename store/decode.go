package store

import (
	"encoding/json"
	"reflect"
	"sync"

	"github.com/modeldao/modeldao"
)

// readRecord decodes one JSON record, the field of hash. Decoding dominates the CPU cost
// of a read (a page of 50 proposals is ~100 KB of JSON with hashes in hex), so decoded
// records are kept in the store's cache keyed by their raw JSON: a record that did not
// change is decoded once, across checkpoints (a cache keyed by checkpoint would decode
// every record again after each commit of the indexer, which during a vote is every block,
// and would need a round trip to learn the checkpoint). The caller gets a shallow copy, a
// pointer of its own (the API's batching tells objects apart by pointer); nested values are
// shared and must not be modified.
func readRecord[T any](s *Store, raw, hash, field string) (*T, error) {
	k := decodeKey{reflect.TypeFor[T](), raw}
	if v, ok := s.decoded.get(k); ok {
		c := *(v.(*T))
		return &c, nil
	}
	v := new(T)
	if err := json.Unmarshal([]byte(raw), v); err != nil {
		return nil, modeldao.WrapError(modeldao.EINTERNAL, err, "the record %s of %s in Redis is not valid JSON: reindex", field, hash)
	}
	s.decoded.put(k, v)
	c := *v
	return &c, nil
}

// decodeCacheBytes bounds the raw JSON held by each of the two generations of the cache.
const decodeCacheBytes = 8 << 20

type decodeKey struct {
	typ reflect.Type
	raw string
}

// decodeCache is a two-generation cache: when the current generation is full it becomes
// the previous one and the oldest is dropped; a hit in the previous one moves forward. Each
// Store owns one (the raw JSON and the type determine the value, but a process serving two
// DAOs should not have one evict the other's records, and tests stay independent).
type decodeCache struct {
	mu        sync.RWMutex
	cur, prev map[decodeKey]any
	curBytes  int
}

func newDecodeCache() *decodeCache { return &decodeCache{cur: map[decodeKey]any{}} }

func (c *decodeCache) get(k decodeKey) (any, bool) {
	c.mu.RLock()
	v, ok := c.cur[k]
	old := false
	if !ok {
		v, ok = c.prev[k]
		old = ok
	}
	c.mu.RUnlock()
	if old {
		c.put(k, v)
	}
	return v, ok
}

func (c *decodeCache) put(k decodeKey, v any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.curBytes+len(k.raw) > decodeCacheBytes {
		c.prev, c.cur, c.curBytes = c.cur, map[decodeKey]any{}, 0
	}
	if _, ok := c.cur[k]; !ok {
		c.cur[k] = v
		c.curBytes += len(k.raw)
	}
}

// readRecords is readRecord for the records of one read (raws[i] the record of field(i),
// "" for none, whose result is nil): the cache is looked up under one read lock for all of
// them, not one each (the lock's shared counter was 3 % of a page of 100 votes and their
// voters, with every request taking it 200 times), and the copies are one allocation.
func readRecords[T any](s *Store, raws []string, hash string, field func(i int) string) ([]*T, error) {
	typ := reflect.TypeFor[T]()
	vals := make([]T, len(raws))
	out := make([]*T, len(raws))
	var miss []int
	type hit struct {
		i int
		v any
	}
	var old []hit // hits in the previous generation, moved forward after the scan
	c := s.decoded
	c.mu.RLock()
	for i, raw := range raws {
		if raw == "" {
			continue
		}
		k := decodeKey{typ, raw}
		v, ok := c.cur[k]
		if !ok {
			if v, ok = c.prev[k]; ok {
				old = append(old, hit{i, v})
			}
		}
		if !ok {
			miss = append(miss, i)
			continue
		}
		vals[i] = *(v.(*T))
		out[i] = &vals[i]
	}
	c.mu.RUnlock()
	for _, h := range old {
		c.put(decodeKey{typ, raws[h.i]}, h.v)
	}
	for _, i := range miss {
		v, err := readRecord[T](s, raws[i], hash, field(i))
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}
