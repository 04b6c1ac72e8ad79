package store

import (
	"context"
	"encoding/json"
	"errors"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/redis/go-redis/v9"

	"github.com/modeldao/modeldao"
)

// Voting power at any block: the read side. Every value is the one in force at the END of
// the block, as the token's getPastVotes and getPastTotalSupply answer, and only for
// blocks the index has applied (the checkpoint): a later block's value is not known yet,
// and the answer says which block is.

// PowerAt asks for an account's voting power at the end of a block.
type PowerAt struct {
	Address common.Address
	Block   uint64
}

// endOf is the largest ordinal of block n: a ZREVRANGEBYSCORE from it finds the last change
// at or before the end of n.
func endOf(n uint64) string { return scoreArg(float64(n)*1e5 + 99999) }

// indexedUpTo checks that block is at or below the checkpoint read by cp.
func indexedUpTo(cp *redis.StringCmd, what string, block uint64) error {
	v, err := cp.Result()
	if errors.Is(err, redis.Nil) {
		return modeldao.Errorf(modeldao.EUNAVAILABLE, "%s: nothing is indexed yet: start the indexer and retry", what)
	}
	if err != nil {
		return readErr(err)
	}
	c, err := parseCheckpoint(v)
	if err != nil {
		return err
	}
	if block > c.Number {
		return modeldao.Errorf(modeldao.EINVALID, "%s: block %d is past the indexed block %d: ask for a block up to %d (like getPastVotes, only past blocks have a value)", what, block, c.Number, c.Number)
	}
	return nil
}

// lastMember returns the member of a ZREVRANGEBYSCORE … LIMIT 0 1, "" when there is none.
func lastMember(c *redis.StringSliceCmd) (string, error) {
	ms, err := c.Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return "", readErr(err)
	}
	if len(ms) == 0 {
		return "", nil
	}
	return ms[0], nil
}

func lastBefore(ctx context.Context, p redis.Pipeliner, key string, block uint64) *redis.StringSliceCmd {
	return p.ZRevRangeByScore(ctx, key, &redis.ZRangeBy{Max: endOf(block), Min: "-inf", Count: 1})
}

func decodeChange(m string) (*modeldao.PowerChange, error) {
	c := new(modeldao.PowerChange)
	if err := json.Unmarshal([]byte(m), c); err != nil {
		return nil, modeldao.WrapError(modeldao.EINTERNAL, err, "voting power history is corrupt: run `modeldao reindex`")
	}
	return c, nil
}

// VotingPowerAt returns the voting power of each account at the end of its block (the
// token's getPastVotes), in one round trip. A block past the checkpoint is an EINVALID
// error that names the indexed block.
func (s *Store) VotingPowerAt(ctx context.Context, qs []PowerAt) ([]*big.Int, error) {
	if err := live(ctx); err != nil {
		return nil, err
	}
	cmds := make([]*redis.StringSliceCmd, len(qs))
	var cp *redis.StringCmd
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		cp = p.Get(ctx, s.keys.Checkpoint())
		for i, q := range qs {
			cmds[i] = lastBefore(ctx, p, s.keys.PowerHistory(q.Address), q.Block)
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, readErr(err)
	}
	out := make([]*big.Int, len(qs))
	for i, q := range qs {
		if err := indexedUpTo(cp, "voting power", q.Block); err != nil {
			return nil, err
		}
		m, err := lastMember(cmds[i])
		if err != nil {
			return nil, err
		}
		out[i] = new(big.Int)
		if m != "" {
			c, err := decodeChange(m)
			if err != nil {
				return nil, err
			}
			out[i] = add(c.New, nil)
		}
	}
	return out, nil
}

// TotalVotesAt returns the sum of every account's voting power at the end of each block:
// the power that can vote on a proposal whose snapshot is that block. One round trip.
func (s *Store) TotalVotesAt(ctx context.Context, blocks []uint64) ([]*big.Int, error) {
	if err := live(ctx); err != nil {
		return nil, err
	}
	cmds := make([]*redis.StringSliceCmd, len(blocks))
	var cp *redis.StringCmd
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		cp = p.Get(ctx, s.keys.Checkpoint())
		for i, b := range blocks {
			cmds[i] = lastBefore(ctx, p, s.keys.PowerTotal(), b)
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, readErr(err)
	}
	out := make([]*big.Int, len(blocks))
	for i, b := range blocks {
		if err := indexedUpTo(cp, "total voting power", b); err != nil {
			return nil, err
		}
		m, err := lastMember(cmds[i])
		if err != nil {
			return nil, err
		}
		out[i] = new(big.Int)
		if m != "" {
			if out[i], err = parsePowerTotal(m); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// TotalSupplyAt returns the token's total supply at the end of block (getPastTotalSupply).
func (s *Store) TotalSupplyAt(ctx context.Context, block uint64) (*big.Int, error) {
	if err := live(ctx); err != nil {
		return nil, err
	}
	var cp, sup *redis.StringCmd
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		cp, sup = p.Get(ctx, s.keys.Checkpoint()), p.Get(ctx, s.keys.Supply())
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, readErr(err)
	}
	if err := indexedUpTo(cp, "total supply", block); err != nil {
		return nil, err
	}
	var h history
	if v, err := sup.Result(); err == nil {
		if err := json.Unmarshal([]byte(v), &h); err != nil {
			return nil, modeldao.WrapError(modeldao.EINTERNAL, err, "supply history is corrupt: run `modeldao reindex`")
		}
	}
	v, ok := new(big.Int).SetString(h.at(block), 10)
	if !ok {
		return nil, modeldao.Errorf(modeldao.EINTERNAL, "supply history is corrupt: run `modeldao reindex`")
	}
	return v, nil
}

// PowerHistoryOf returns a page of the voting power changes of each account, in one
// round trip (two with cursors).
func (s *Store) PowerHistoryOf(ctx context.Context, addrs []common.Address, desc bool, args PageArgs) ([]*Page[*modeldao.PowerChange], error) {
	ls := make([]pageList, len(addrs))
	for i, a := range addrs {
		ls[i] = pageList{name: "powerhistory", zset: s.keys.PowerHistory(a), desc: desc}
	}
	return fetchLists[modeldao.PowerChange](ctx, s, ls, args)
}

// EligibleVoter is an account with voting power at a snapshot.
type EligibleVoter struct {
	Address common.Address
	Power   *big.Int
}

// eligibleChunk is how many candidates one round of EligibleVoters reads.
const eligibleChunk = 256

// EligibleVoters returns a page of the accounts with voting power > 0 at the end of block
// snapshot, by address. The candidates are the accounts that ever had power (Keys.Powered);
// each round reads a chunk of them and their power at the snapshot in two round trips, and
// rounds go on until the page is full or the candidates run out. Only forward paging
// (first, after). TotalCount is not computed (it would read every candidate).
func (s *Store) EligibleVoters(ctx context.Context, snapshot uint64, args PageArgs) (*Page[EligibleVoter], error) {
	const list = "eligible"
	if args.Last != nil || args.Before != "" {
		return nil, modeldao.Errorf(modeldao.EINVALID, "eligible voters page forward only: pass first and after")
	}
	w, err := args.window(list)
	if err != nil {
		return nil, err
	}
	if err := live(ctx); err != nil {
		return nil, err
	}
	if err := indexedUpTo(s.rdb.Get(ctx, s.keys.Checkpoint()), "eligible voters", snapshot); err != nil {
		return nil, err
	}
	page := &Page[EligibleVoter]{HasPreviousPage: w.after != nil}
	from := "-"
	if w.after != nil {
		from = "(" + w.after.member
	}
	for {
		cands, err := s.rdb.ZRangeByLex(ctx, s.keys.Powered(), &redis.ZRangeBy{Min: from, Max: "+", Count: eligibleChunk}).Result()
		if err != nil {
			return nil, readErr(err)
		}
		if len(cands) == 0 {
			return page, nil
		}
		qs := make([]PowerAt, len(cands))
		for i, c := range cands {
			qs[i] = PowerAt{Address: common.HexToAddress(c), Block: snapshot}
		}
		powers, err := s.VotingPowerAt(ctx, qs)
		if err != nil {
			return nil, err
		}
		for i, p := range powers {
			if p.Sign() <= 0 {
				continue
			}
			if len(page.Items) == w.n {
				page.HasNextPage = true
				return page, nil
			}
			page.Items = append(page.Items, EligibleVoter{Address: qs[i].Address, Power: p})
			page.Cursors = append(page.Cursors, EncodeCursor(list, 0, cands[i]))
		}
		if len(cands) < eligibleChunk {
			return page, nil
		}
		from = "(" + cands[len(cands)-1]
	}
}
