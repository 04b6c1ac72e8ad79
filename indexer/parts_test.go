package indexer

import (
	"context"
	"math/big"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/modeldao/modeldao/contracts"
)

// logsChain answers eth_getLogs with perBlock logs of dataSize bytes in every block, and
// records the ranges asked for.
type logsChain struct {
	perBlock, dataSize int
	calls              [][2]uint64
}

func (c *logsChain) BlockNumber(context.Context) (uint64, error) { return 1 << 20, nil }
func (c *logsChain) HeaderByNumber(context.Context, *big.Int) (*types.Header, error) {
	return nil, nil
}
func (c *logsChain) FilterLogs(_ context.Context, q ethereum.FilterQuery) ([]types.Log, error) {
	from, to := q.FromBlock.Uint64(), q.ToBlock.Uint64()
	c.calls = append(c.calls, [2]uint64{from, to})
	var out []types.Log
	for n := from; n <= to; n++ {
		for i := 0; i < c.perBlock; i++ {
			out = append(out, types.Log{BlockNumber: n, Topics: []common.Hash{{1}}, Data: make([]byte, c.dataSize)})
		}
	}
	return out, nil
}

// A batch's logs are read in calls of about logsPerCall logs, or callLogBytes when the logs
// are large, and the read stops once the batch holds maxEvents logs or batchLogBytes: a
// range of long proposal descriptions does not make the batch, or any one answer, big.
func TestLogsInPartsBoundsCallsAndBatchBySize(t *testing.T) {
	for _, tc := range []struct {
		name               string
		perBlock, dataSize int
		maxEvents          int
		maxCall, maxBatch  int // bytes of logs
	}{
		{"votes", 100, 64, 20000, (logsPerCall + 200) * 256, (20000 + logsPerCall + 200) * 256},
		{"long descriptions", 4, 100 << 10, 20000, callLogBytes + 4*(100<<10+200), batchLogBytes + callLogBytes + 4*(100<<10+200)},
	} {
		c := &logsChain{perBlock: tc.perBlock, dataSize: tc.dataSize}
		ix := &Indexer{cfg: Config{Chain: c, RPCTimeout: time.Second}, dec: NewDecoder(contracts.Deployment{})}
		// A first short range (fetch's first is RangeBlocks) tells the density and size.
		if _, _, err := ix.logsInParts(context.Background(), 1, 2, tc.maxEvents); err != nil {
			t.Fatal(err)
		}
		ix.density = float64(tc.perBlock) // as fetch computes it from that range
		c.calls = nil
		logs, last, err := ix.logsInParts(context.Background(), 3, 1_000_000, tc.maxEvents)
		if err != nil {
			t.Fatal(err)
		}
		if last >= 1_000_000 {
			t.Errorf("%s: read the whole range", tc.name)
		}
		total := 0
		for _, call := range c.calls {
			n := int(call[1]-call[0]+1) * tc.perBlock
			if size := n * (tc.dataSize + 32 + 160); size > tc.maxCall {
				t.Errorf("%s: a call for blocks %d..%d returned %d bytes of logs, want at most %d", tc.name, call[0], call[1], size, tc.maxCall)
			}
			total += n
		}
		if total != len(logs) || uint64(len(logs)) != (last-2)*uint64(tc.perBlock) {
			t.Errorf("%s: %d logs up to block %d from calls of %d", tc.name, len(logs), last, total)
		}
		if size := len(logs) * (tc.dataSize + 32 + 160); size > tc.maxBatch {
			t.Errorf("%s: the batch holds %d logs, %d bytes; want at most %d bytes", tc.name, len(logs), size, tc.maxBatch)
		}
		if len(c.calls) < 2 {
			t.Errorf("%s: %d calls", tc.name, len(c.calls))
		}
	}
}
