package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/modeldao/modeldao"
)

// nodeFor returns the client that serves the DAO's hash slot: the client itself, or the
// cluster master that owns the slot (SCAN runs on one node).
func (s *Store) nodeFor(ctx context.Context) (redis.Cmdable, error) {
	if c, ok := s.rdb.(*redis.ClusterClient); ok {
		n, err := c.MasterForKey(ctx, s.keys.Checkpoint())
		if err != nil {
			return nil, redisDown(err, "find the cluster node of the DAO's slot")
		}
		return n, nil
	}
	return s.rdb, nil
}

// scanKeys lists every key of the DAO.
func (s *Store) scanKeys(ctx context.Context) ([]string, error) {
	node, err := s.nodeFor(ctx)
	if err != nil {
		return nil, err
	}
	var keys []string
	iter := node.Scan(ctx, 0, escapeGlob(s.keys.Prefix())+"*", 1000).Iterator()
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		return nil, redisDown(err, "scan keys")
	}
	sort.Strings(keys)
	return keys, nil
}

func escapeGlob(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`, `]`, `\]`)
	return r.Replace(s)
}

// Digest returns a sha256 over a canonical dump of the projection: every key of the DAO
// but the bookkeeping ones (checkpoint, lease, undo log, status, pin records and queue),
// in key order, with hash fields sorted and sorted sets in score order. Two indexes of the
// same chain have the same digest whatever their batch sizes, crashes and reorgs were.
func (s *Store) Digest(ctx context.Context) (string, error) {
	keys, err := s.scanKeys(ctx)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for _, key := range keys {
		name := strings.TrimPrefix(key, s.keys.Prefix())
		first, _, _ := strings.Cut(name, ":")
		if nonDigest(first) {
			continue
		}
		typ, err := s.rdb.Type(ctx, key).Result()
		if err != nil {
			return "", redisDown(err, "read key type")
		}
		fmt.Fprintf(h, "%s %s\n", typ, name)
		switch typ {
		case "string":
			v, err := s.rdb.Get(ctx, key).Result()
			if err != nil {
				return "", redisDown(err, "read "+name)
			}
			fmt.Fprintf(h, "%q\n", v)
		case "hash":
			m, err := s.rdb.HGetAll(ctx, key).Result()
			if err != nil {
				return "", redisDown(err, "read "+name)
			}
			fields := make([]string, 0, len(m))
			for f := range m {
				fields = append(fields, f)
			}
			sort.Strings(fields)
			for _, f := range fields {
				fmt.Fprintf(h, "%q=%q\n", f, m[f])
			}
		case "zset":
			zs, err := s.rdb.ZRangeWithScores(ctx, key, 0, -1).Result()
			if err != nil {
				return "", redisDown(err, "read "+name)
			}
			for _, z := range zs {
				fmt.Fprintf(h, "%q %s\n", z.Member, strconv.FormatFloat(z.Score, 'g', -1, 64))
			}
		default:
			return "", modeldao.Errorf(modeldao.EINTERNAL, "unexpected %s key %s in the projection", typ, name)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Drop deletes every key of the DAO (projection, checkpoint, undo log, pin records and
// queue) but the webhook endpoints, the outbox and the notifier's state (keptByDrop):
// `modeldao reindex` then rebuilds it from the chain. It refuses while another
// indexer holds the lease.
func (s *Store) Drop(ctx context.Context) (int, error) { return s.drop(ctx, keptByDrop) }

// DropAll deletes every key of the DAO, the webhook endpoints and the outbox included: for
// a new chain at the same addresses (a dev chain), whose blocks are not the ones announced.
func (s *Store) DropAll(ctx context.Context) (int, error) {
	return s.drop(ctx, func(string) bool { return false })
}

func (s *Store) drop(ctx context.Context, keep func(name string) bool) (int, error) {
	if n, err := s.rdb.Exists(ctx, s.keys.Lease()).Result(); err != nil {
		return 0, redisDown(err, "read lease")
	} else if n > 0 {
		return 0, modeldao.Errorf(modeldao.ECONFLICT, "an indexer holds the lease: stop it before dropping the index")
	}
	all, err := s.scanKeys(ctx)
	if err != nil {
		return 0, err
	}
	keys := all[:0]
	for _, k := range all {
		first, _, _ := strings.Cut(strings.TrimPrefix(k, s.keys.Prefix()), ":")
		if !keep(first) {
			keys = append(keys, k)
		}
	}
	for i := 0; i < len(keys); i += 500 {
		end := min(i+500, len(keys))
		if err := s.rdb.Del(ctx, keys[i:end]...).Err(); err != nil {
			return i, redisDown(err, "delete keys")
		}
	}
	return len(keys), nil
}
