package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/modeldao/modeldao"
)

func setupMine(r *runner, fs *flag.FlagSet) func(context.Context, []string) error {
	r.rpcFlag(fs)
	r.jsonFlag(fs)
	blocks := fs.Uint64("blocks", 1, "blocks to mine")
	advance := fs.Duration("time", 0, "move the chain's time forward by this much (a block is mined with the new time), e.g. 61s")
	return func(ctx context.Context, args []string) error {
		if err := needArgs(args, 0, ""); err != nil {
			return err
		}
		if *advance < 0 || *advance%time.Second != 0 {
			return usagef("--time must be a positive whole number of seconds, e.g. 61s")
		}
		if *blocks > 10_000 {
			return usagef("--blocks: at most 10000 at a time")
		}
		eth, _, err := r.chain(ctx)
		if err != nil {
			return err
		}
		c := eth.Client()
		devErr := func(err error) error {
			var re rpc.Error
			if errors.As(err, &re) && re.ErrorCode() == -32601 {
				return modeldao.Errorf(modeldao.EINVALID, "the node at %s has no anvil_mine/evm_increaseTime: `modeldao mine` works on the dev chain of `modeldao dev` (or Anvil, Hardhat)", r.rpcURL)
			}
			return modeldao.WrapError(modeldao.EUNAVAILABLE, err, "the node at %s", r.rpcURL)
		}
		// Time first: anvil's evm_increaseTime only moves the time of the next block, so the
		// blocks mined after it carry the new time (the dev chain's mines one at once).
		if *advance > 0 {
			if err := c.CallContext(ctx, nil, "evm_increaseTime", uint64(*advance/time.Second)); err != nil {
				return devErr(err)
			}
		}
		if *blocks > 0 {
			if err := c.CallContext(ctx, nil, "anvil_mine", hexutil.Uint64(*blocks)); err != nil {
				return devErr(err)
			}
		}
		head, err := eth.HeaderByNumber(ctx, nil)
		if err != nil {
			return chainErr(err, "read the head block")
		}
		res := map[string]any{"block": head.Number.Uint64(), "time": time.Unix(int64(head.Time), 0).UTC().Format(time.RFC3339)}
		return r.print(res, func(w io.Writer) {
			fmt.Fprintf(w, "The chain is at block %d, time %s\n", head.Number, res["time"])
		})
	}
}
