package anvil

import (
	"context"
	"math/big"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/modeldao/modeldao/infra/procutil"
)

func TestNode(t *testing.T) {
	ctx := context.Background()
	n := StartT(t)
	c := n.Client()

	id, err := c.ChainID(ctx)
	if err != nil || id.Int64() != ChainID {
		t.Fatalf("chain id %v, %v; want %d", id, err, ChainID)
	}
	var accounts []common.Address
	if err := n.RPC().CallContext(ctx, &accounts, "eth_accounts"); err != nil {
		t.Fatal(err)
	}
	if len(accounts) != len(n.Keys()) {
		t.Fatalf("node has %d accounts, we have %d keys", len(accounts), len(n.Keys()))
	}
	for i, a := range accounts {
		if a != n.Address(i) {
			t.Fatalf("account %d: node says %s, key gives %s", i, a, n.Address(i))
		}
	}

	// Mining and time.
	if err := n.MineBlocks(ctx, 5); err != nil {
		t.Fatal(err)
	}
	head := number(t, n)
	if head != 5 {
		t.Fatalf("head %d after mining 5 blocks, want 5", head)
	}
	before, _ := n.Head(ctx)
	if err := n.IncreaseTime(ctx, time.Hour); err != nil {
		t.Fatal(err)
	}
	after, _ := n.Head(ctx)
	if after.Number.Uint64() != head+1 || after.Time != before.Time+3600 {
		t.Fatalf("IncreaseTime(1h): block %d at %d, want block %d at %d", after.Number, after.Time, head+1, before.Time+3600)
	}

	// A transfer, automined.
	tx := transfer(t, n, 0)
	r, err := n.Receipt(ctx, tx)
	if err != nil {
		t.Fatal(err)
	}
	mined := r.BlockNumber.Uint64()

	// Reorg of depth 3 that moves the transfer one block later and adds another.
	old, _ := c.HeaderByNumber(ctx, new(big.Int).SetUint64(mined))
	top := number(t, n)
	depth := int(top - mined + 3)
	extra := transferSigned(t, n, 1, nonceAt(t, n, 1))
	if err := n.Reorg(ctx, depth, []RawTxAt{{Tx: tx, Block: 2}, {Tx: extra, Block: 0}}); err != nil {
		t.Fatal(err)
	}
	if got := number(t, n); got != top {
		t.Fatalf("head %d after a reorg, want the same height %d", got, top)
	}
	now, _ := c.HeaderByNumber(ctx, new(big.Int).SetUint64(mined))
	if now.Hash() == old.Hash() {
		t.Fatal("the reorg did not replace the transfer's block")
	}
	r2, err := c.TransactionReceipt(ctx, tx.Hash())
	if err != nil {
		t.Fatalf("transfer after the reorg: %v", err)
	}
	if want := top - uint64(depth) + 1 + 2; r2.BlockNumber.Uint64() != want {
		t.Fatalf("transfer re-included in block %d, want %d (offset 2 of the new branch)", r2.BlockNumber, want)
	}
	if _, err := c.TransactionReceipt(ctx, extra.Hash()); err != nil {
		t.Fatalf("added transaction after the reorg: %v", err)
	}

	// Rollback shortens the chain and drops the transfer's block.
	if err := n.Rollback(ctx, 3); err != nil {
		t.Fatal(err)
	}
	if got := number(t, n); got != top-3 {
		t.Fatalf("head %d after rolling back 3 blocks from %d", got, top)
	}

	// Without automine, Receipt mines the block itself.
	if err := n.SetAutomine(ctx, false); err != nil {
		t.Fatal(err)
	}
	if on, err := n.Automine(ctx); err != nil || on {
		t.Fatalf("automine %v, %v after turning it off", on, err)
	}
	pending := transfer(t, n, 2)
	if _, err := c.TransactionReceipt(ctx, pending.Hash()); err == nil {
		t.Fatal("a transaction was mined with automine off")
	}
	if _, err := n.Receipt(ctx, pending); err != nil {
		t.Fatal(err)
	}
	// A transaction with a nonce gap is never mined: an error, and it leaves the pool.
	gap := transferSigned(t, n, 3, nonceAt(t, n, 3)+5)
	if err := c.SendTransaction(ctx, gap); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Receipt(ctx, gap); err == nil || !strings.Contains(err.Error(), "not mined") {
		t.Fatalf("Receipt of a gapped transaction: %v", err)
	}
	var content struct{ Queued map[string]any }
	if err := n.RPC().CallContext(ctx, &content, "txpool_content"); err != nil {
		t.Fatal(err)
	}
	if len(content.Queued) != 0 {
		t.Fatalf("the gapped transaction is still queued: %v", content.Queued)
	}
}

// TestAutomineBlockPerTransaction: with automine, every transaction waited for with
// Receipt gets a block of its own, and no empty block is mined in between, so that a seeded
// workload makes the same chain on every run. Anvil mines asynchronously: right after
// eth_sendRawTransaction the receipt is often not there yet, and mining a block then (as
// without automine) made blocks of two transactions and empty ones, depending on timing.
func TestAutomineBlockPerTransaction(t *testing.T) {
	ctx := context.Background()
	n := StartT(t, Options{Quiet: true})
	start := number(t, n)
	const txs = 100
	for i := range txs {
		r, err := n.Receipt(ctx, transfer(t, n, i%5))
		if err != nil {
			t.Fatal(err)
		}
		if want := start + 1 + uint64(i); r.BlockNumber.Uint64() != want {
			t.Fatalf("transaction %d mined in block %d, want %d (a block per transaction)", i, r.BlockNumber, want)
		}
	}
	if head := number(t, n); head != start+txs {
		t.Fatalf("head %d after %d automined transactions from %d", head, txs, start)
	}
}

func TestMissingBinaryNamesTheInstallCommand(t *testing.T) {
	t.Setenv("MODELDAO_ANVIL_BIN", filepath.Join(t.TempDir(), "no-anvil"))
	_, err := Start(context.Background(), Options{})
	if err == nil || !strings.Contains(err.Error(), "make tools") {
		t.Fatalf("err = %v, want one that says to run make tools", err)
	}
}

func number(t *testing.T, n *Node) uint64 {
	t.Helper()
	h, err := n.Client().BlockNumber(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func nonceAt(t *testing.T, n *Node, i int) uint64 {
	t.Helper()
	nonce, err := n.Client().PendingNonceAt(context.Background(), n.Address(i))
	if err != nil {
		t.Fatal(err)
	}
	return nonce
}

// transferSigned signs a 1 wei transfer from account i to account 9 with the given nonce.
func transferSigned(t *testing.T, n *Node, i int, nonce uint64) *types.Transaction {
	t.Helper()
	to := n.Address(9)
	tx, err := types.SignNewTx(n.Keys()[i], types.LatestSignerForChainID(big.NewInt(ChainID)), &types.DynamicFeeTx{
		ChainID: big.NewInt(ChainID), Nonce: nonce, GasTipCap: big.NewInt(1e9), GasFeeCap: big.NewInt(100e9),
		Gas: 21000, To: &to, Value: big.NewInt(1),
	})
	if err != nil {
		t.Fatal(err)
	}
	return tx
}

// transfer sends a 1 wei transfer from account i.
func transfer(t *testing.T, n *Node, i int) *types.Transaction {
	t.Helper()
	tx := transferSigned(t, n, i, nonceAt(t, n, i))
	if err := n.Client().SendTransaction(context.Background(), tx); err != nil {
		t.Fatal(err)
	}
	return tx
}

func TestQuietAndPortTaken(t *testing.T) {
	n := StartT(t, Options{Quiet: true})
	if _, err := n.Client().BlockNumber(context.Background()); err != nil {
		t.Fatal(err)
	}
	// A port given explicitly is not replaced: a taken one is an error that says so (what
	// Start's retry on a picked port looks for).
	_, err := Start(context.Background(), Options{Quiet: true, Port: n.Port(), StartTimeout: 10 * time.Second})
	if err == nil {
		t.Fatal("a second anvil started on a taken port")
	}
	if !procutil.AddrInUse(err) {
		t.Fatalf("error does not say the address is in use: %v", err)
	}
}
