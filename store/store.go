// Package store is the only package that knows the Redis layout of ModelDAO (see Keys). The
// indexer writes the projection through Begin/Commit in atomic batches that also move the
// checkpoint and keep an undo log for reorgs; the API and the pinner read through Store.
package store

import (
	"log/slog"

	"github.com/redis/go-redis/v9"
)

// Store reads and writes the projection of one DAO.
type Store struct {
	rdb        redis.UniversalClient
	keys       Keys
	log        *slog.Logger
	decoded    *decodeCache // records decoded by the reads, by raw JSON (see readRecord)
	recs       *recordCache // raw records of the last checkpoint seen (see readFields)
	pages      *pageCache   // pages of the last checkpoint seen (see pagesInRedis)
	review     *reviewMemo  // stale and contested sets of the last checkpoint (review_memo.go)
	projectors projectors   // the projector table (projector.go)
	// commitChunk: arguments a commit sends at a time (multiWriter; 0: DefaultCommitChunk)
	commitChunk int
	// volatile holds the hashes the pinner writes outside commits (see cacheable), built
	// once: cacheable runs for every record a read asks for (100 voters: 300 key strings
	// built per request, 4 % of the page's CPU, when they were built on each call).
	volatile [3]string
}

// New returns a Store of the DAO whose keys are built by keys. rdb may be a plain client, a
// cluster client or a universal client.
func New(rdb redis.UniversalClient, keys Keys, log *slog.Logger) *Store {
	if log == nil {
		log = slog.Default()
	}
	return &Store{rdb: rdb, keys: keys, log: log, decoded: newDecodeCache(), recs: newRecordCache(), pages: newPageCache(), review: &reviewMemo{}, projectors: newProjectors(),
		volatile: [3]string{keys.Pin(), keys.Release(), keys.Evidence()}}
}

// Keys returns the key builder of the store.
func (s *Store) Keys() Keys { return s.keys }

// Client returns the Redis client (for health checks and tests).
func (s *Store) Client() redis.UniversalClient { return s.rdb }
