package client

import (
	"context"

	"github.com/ethereum/go-ethereum/common"
)

// Queries of the index and pinning status.

// IndexerStatus returns how far the index has followed the chain.
func (c *Client) IndexerStatus(ctx context.Context) (*IndexerStatus, error) {
	var q struct {
		S struct {
			ChainHead    uint64  `graphql:"chainHead"`
			IndexedBlock uint64  `graphql:"indexedBlock"`
			IndexedHash  *string `graphql:"indexedHash"`
			Lag          uint64  `graphql:"lag"`
			Reorgs       int     `graphql:"reorgs"`
			Healthy      bool    `graphql:"healthy"`
			HeadSeenAt   *string `graphql:"headSeenAt"`
			LastError    *string `graphql:"lastError"`
			LastErrorAt  *string `graphql:"lastErrorAt"`
			UpdatedAt    *string `graphql:"updatedAt"`
		} `graphql:"indexerStatus"`
	}
	if err := c.query(ctx, &q, nil); err != nil {
		return nil, err
	}
	s := q.S
	st := &IndexerStatus{ChainHead: s.ChainHead, IndexedBlock: s.IndexedBlock, Lag: s.Lag, Reorgs: s.Reorgs,
		Healthy: s.Healthy, HeadSeenAt: timePtr(s.HeadSeenAt), LastError: str(s.LastError), LastErrorAt: timePtr(s.LastErrorAt),
		UpdatedAt: timePtr(s.UpdatedAt)}
	if s.IndexedHash != nil {
		st.IndexedHash = common.HexToHash(*s.IndexedHash)
	}
	return st, nil
}

// PinStatus counts model versions per pin status.
func (c *Client) PinStatus(ctx context.Context) (*PinCounts, error) {
	var q struct {
		P struct {
			Total    int `graphql:"total"`
			None     int `graphql:"none"`
			Queued   int `graphql:"queued"`
			Pinning  int `graphql:"pinning"`
			Pinned   int `graphql:"pinned"`
			Failed   int `graphql:"failed"`
			Unpinned int `graphql:"unpinned"`
			Degraded int `graphql:"degraded"`
		} `graphql:"pinStatus"`
	}
	if err := c.query(ctx, &q, nil); err != nil {
		return nil, err
	}
	p := PinCounts(q.P)
	return &p, nil
}
