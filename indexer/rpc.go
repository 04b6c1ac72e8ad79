package indexer

import (
	"context"
	"errors"
	"math/big"
	"math/rand/v2"
	"net"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/modeldao/modeldao"
)

// Chain is what the indexer needs of a JSON-RPC node (ethclient.Client satisfies it).
type Chain interface {
	BlockNumber(ctx context.Context) (uint64, error)
	HeaderByNumber(ctx context.Context, number *big.Int) (*types.Header, error)
	FilterLogs(ctx context.Context, q ethereum.FilterQuery) ([]types.Log, error)
}

// isRangeError reports whether a node refused a log query for its size: the messages of
// geth, Erigon, Nethermind, Alchemy, Infura, QuickNode and others, and code -32005.
func isRangeError(err error) bool {
	var re rpc.Error
	if errors.As(err, &re) && re.ErrorCode() == -32005 {
		return true
	}
	msg := strings.ToLower(err.Error())
	for _, s := range []string{
		"more than 10000 results", "query returned more than", "too many results", "block range",
		"range too large", "response size", "exceed maximum block range", "log response size exceeded",
		"limit exceeded", "too many logs", "result set too large", "query timeout exceeded",
	} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// isPastHead reports whether a node refused a query because it asked for blocks past its
// head or a block it does not know: the chain got shorter (a reorg, a rollback) while the
// call was in flight. Anvil: -32602 "BlockOutOfRangeError: block height is N but requested
// was M"; geth: "header not found", "unknown block", "block range extends beyond current
// head block"; others: "block not found", "after last accepted block".
func isPastHead(err error) bool {
	msg := strings.ToLower(err.Error())
	for _, s := range []string{
		"blockoutofrange", "block height is", "header not found", "unknown block", "block not found",
		"beyond current head", "after last accepted block", "invalid block range", "requested block number",
		"block range extends beyond",
	} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// isTransient reports whether an RPC error is worth a retry: rate limits, server errors,
// timeouts and broken connections.
func isTransient(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false
	}
	var he rpc.HTTPError
	if errors.As(err, &he) {
		return he.StatusCode == 429 || he.StatusCode >= 500
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	msg := strings.ToLower(err.Error())
	for _, s := range []string{"eof", "connection reset", "connection refused", "timeout", "too many requests", "429", "502", "503", "504", "unexpected end"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// backoff is exponential backoff with full jitter.
type backoff struct {
	min, max time.Duration
	n        int
}

func (b *backoff) next() time.Duration {
	d := b.min << min(b.n, 20)
	if d > b.max || d <= 0 {
		d = b.max
	}
	b.n++
	return time.Duration(rand.Int64N(int64(d)) + 1)
}

func (b *backoff) reset() { b.n = 0 }

// fresh is a backoff with b's bounds and no failures yet, for a call made concurrently.
func (b *backoff) fresh() backoff { return backoff{min: b.min, max: b.max} }

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// retry calls f until it succeeds, backing off on errors, until ctx ends. Every error is
// retried (a node that answers nonsense may recover too) and reported through onErr.
func retry[T any](ctx context.Context, b *backoff, onErr func(error), f func(context.Context) (T, error)) (T, error) {
	for {
		v, err := f(ctx)
		if err == nil {
			b.reset()
			return v, nil
		}
		if ctx.Err() != nil {
			return v, modeldao.WrapError(modeldao.EUNAVAILABLE, err, "chain RPC: deadline reached")
		}
		onErr(err)
		if err := sleep(ctx, b.next()); err != nil {
			return v, modeldao.WrapError(modeldao.EUNAVAILABLE, err, "chain RPC: deadline reached while retrying")
		}
	}
}
