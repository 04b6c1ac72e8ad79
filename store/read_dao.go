package store

import (
	"context"
	"encoding/json"
	"errors"
	"math/big"

	"github.com/modeldao/modeldao"
	"github.com/redis/go-redis/v9"
)

// The DAO record with its counts, and pins.

// ---- DAO, status, pins ----

// DAOInfo is the DAO's parameters and the sizes of its lists.
type DAOInfo struct {
	modeldao.DAOParams
	ProposalCount int
	DelegateCount int // accounts with voting power
	AccountCount  int // accounts the index has seen
	ModelCount    int
	VersionCount  int
	AuditCount    int
	PolicyCount   int
	AuditorCount  int
}

// Quorum is the quorum at the current total supply (modeldao.Quorum, as
// GovernorVotesQuorumFraction computes it).
func (d *DAOInfo) Quorum() *big.Int {
	return modeldao.Quorum(d.TotalSupply, new(big.Int).SetUint64(d.QuorumNumerator))
}

// DAO returns the DAO's parameters and counts in one round trip; ENOTFOUND before the
// indexer has written them.
func (s *Store) DAO(ctx context.Context) (*DAOInfo, error) {
	if err := live(ctx); err != nil {
		return nil, err
	}
	var params *redis.StringCmd
	var cards [7]*redis.IntCmd
	var accounts *redis.IntCmd
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		params = p.Get(ctx, s.keys.DAO())
		k := s.keys
		for i, key := range []string{k.Proposals(), k.DelegatesByPower(), k.Models(), k.Versions(), k.Audits(), k.Policies(), k.Auditors()} {
			cards[i] = p.ZCard(ctx, key)
		}
		accounts = p.HLen(ctx, s.keys.AccountRecords())
		return nil
	})
	if errors.Is(err, redis.Nil) || err == nil && params.Err() == redis.Nil {
		return nil, modeldao.Errorf(modeldao.ENOTFOUND, "the DAO is not indexed yet: start the indexer and retry")
	}
	if err != nil {
		return nil, readErr(err)
	}
	d := &DAOInfo{}
	if err := json.Unmarshal([]byte(params.Val()), &d.DAOParams); err != nil {
		return nil, modeldao.WrapError(modeldao.EINTERNAL, err, "the DAO record in Redis is not valid JSON: reindex")
	}
	d.ProposalCount, d.DelegateCount, d.ModelCount = int(cards[0].Val()), int(cards[1].Val()), int(cards[2].Val())
	d.VersionCount, d.AuditCount, d.PolicyCount, d.AuditorCount = int(cards[3].Val()), int(cards[4].Val()), int(cards[5].Val()), int(cards[6].Val())
	d.AccountCount = int(accounts.Val())
	return d, nil
}

// Pins returns the pin records of the given versions in one HMGET, nil where a version has
// none (not approved yet, or the indexer has not queued it).
func (s *Store) Pins(ctx context.Context, versionIDs []uint64) ([]*modeldao.Pin, error) {
	return readMany[modeldao.Pin](ctx, s, s.keys.Pin(), decIDs(versionIDs))
}
