// Package anvil runs Foundry's anvil, a second real EVM node next to go-ethereum's
// simulated backend, for tests: chain id 31337 on a free loopback port, anvil's well-known
// dev accounts, and its test-only methods for mining, moving time and making real reorgs
// (anvil_reorg keeps the height with new block hashes; anvil_rollback shortens the chain).
//
// The anvil binary is $MODELDAO_ANVIL_BIN if set, else <repo>/.bin/anvil (installed from
// npm by "make tools"), else anvil in PATH.
package anvil

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/modeldao/modeldao/contracts"
	"github.com/modeldao/modeldao/infra/procutil"
)

// ChainID is the chain id the node is started with.
const ChainID = 31337

// DefaultStartTimeout bounds how long Start waits for the node to answer.
const DefaultStartTimeout = 30 * time.Second

// baseGasLimit is anvil's default block gas limit; each node adds a random amount below a
// million to it, which tells its answers from another node's on the same port.
const baseGasLimit = 30_000_000

// PruneHistory is how many recent states anvil keeps in memory. Anvil 1.7.1 loses all
// contract code when a reorg or rollback goes back to a state it reads from its disk cache
// (seen after about 1,000 blocks); keeping the states in memory avoids that path.
const PruneHistory = 1024

// Binary is where the anvil executable is looked for.
var Binary = procutil.Binary{
	Name:    "anvil",
	EnvVar:  "MODELDAO_ANVIL_BIN",
	RepoBin: true,
	Missing: `anvil not found: run "make tools" (installs .bin/anvil from npm @foundry-rs/anvil@1.7.1)`,
}

// devKeys are the keys of anvil's default mnemonic ("test test … junk", m/44'/60'/0'/0/i),
// which it funds with 10,000 ETH each. Public knowledge: for local chains only.
var devKeys = []string{
	"ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
	"59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
	"5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
	"7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
	"47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
	"8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
	"92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
	"4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
	"dbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
	"2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
}

// DevKeys returns the private keys of the accounts anvil funds by default.
func DevKeys() []*ecdsa.PrivateKey {
	keys := make([]*ecdsa.PrivateKey, len(devKeys))
	for i, h := range devKeys {
		k, err := crypto.HexToECDSA(h)
		if err != nil {
			panic(err) // constants above; a test checks them against the node's accounts
		}
		keys[i] = k
	}
	return keys
}

// Options configures a node. The zero value is ready to use.
type Options struct {
	// Binary is the anvil path; empty means Binary.Find().
	Binary string
	// Port to listen on (127.0.0.1 only); 0 picks a free one.
	Port int
	// Quiet keeps anvil from logging every call (a busy test makes megabytes of it).
	Quiet bool
	// NoMining starts without automine: transactions wait in the pool until a block is
	// mined (MineBlocks, or Receipt which mines one).
	NoMining bool
	// Args are extra anvil arguments.
	Args []string
	// Output, if not nil, also receives the node's output.
	Output io.Writer
	// Logger logs starts and stops; nil means slog.Default().
	Logger *slog.Logger
	// StartTimeout bounds the start; 0 means DefaultStartTimeout.
	StartTimeout time.Duration
}

// Node is a running anvil.
type Node struct {
	opts   Options
	bin    string
	port   int
	keys   []*ecdsa.PrivateKey
	rpc    *rpc.Client
	client *ethclient.Client

	procutil.Supervised
}

// Start starts anvil on 127.0.0.1 and waits until it answers eth_chainId. ctx bounds the
// node's life; call Close to stop it. A node's chain lives in its memory only, so there is
// no Restart.
func Start(ctx context.Context, opts Options) (*Node, error) {
	bin := opts.Binary
	if bin == "" {
		var err error
		if bin, err = Binary.Find(); err != nil {
			return nil, err
		}
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = DefaultStartTimeout
	}
	n := &Node{opts: opts, bin: bin, keys: DevKeys()}
	pick := opts.Port == 0
	for attempt := 1; ; attempt++ {
		n.port = opts.Port
		if pick {
			var err error
			if n.port, err = procutil.FreePort(); err != nil {
				return nil, err
			}
		}
		err := n.start(ctx)
		if err == nil {
			return n, nil
		}
		if attempt < 3 && pick && procutil.AddrInUse(err) {
			n.logger().Debug("anvil port taken, retrying with another", "port", n.port)
			continue
		}
		return nil, err
	}
}

func (n *Node) logger() *slog.Logger {
	if n.opts.Logger != nil {
		return n.opts.Logger
	}
	return slog.Default()
}

func (n *Node) start(ctx context.Context) error {
	// The block gas limit is a mark of this process: anvil on a taken port exits ("Address
	// already in use"), and an answer from the port may come from whoever holds it. With
	// --quiet there is no "Listening on" line to tell, so the mark is what is checked.
	gasLimit := baseGasLimit + uint64(rand.IntN(1_000_000)) + 1
	args := []string{"--host", "127.0.0.1", "--port", strconv.Itoa(n.port), "--chain-id", strconv.Itoa(ChainID),
		"--accounts", strconv.Itoa(len(devKeys)), "--prune-history", strconv.Itoa(PruneHistory),
		"--gas-limit", strconv.FormatUint(gasLimit, 10)}
	if n.opts.NoMining {
		args = append(args, "--no-mining")
	}
	if n.opts.Quiet {
		args = append(args, "--quiet")
	}
	args = append(args, n.opts.Args...)
	proc, err := procutil.Start(ctx, procutil.Config{
		Name:   "anvil",
		Path:   n.bin,
		Args:   args,
		Output: n.opts.Output,
		Logger: n.opts.Logger,
	})
	if err != nil {
		return fmt.Errorf("anvil: %w", err)
	}
	waitCtx, cancel := context.WithTimeout(ctx, n.opts.StartTimeout)
	defer cancel()
	fail := func(err error) error {
		_ = proc.Stop()
		return fmt.Errorf("anvil: %w", err)
	}
	c, err := rpc.DialContext(waitCtx, n.URL())
	if err != nil {
		return fail(err)
	}
	err = proc.WaitUntil(waitCtx, "it answers as this process", 50*time.Millisecond, func(ctx context.Context) error {
		var id hexutil.Uint64
		if err := c.CallContext(ctx, &id, "eth_chainId"); err != nil {
			return err
		}
		var head struct{ GasLimit hexutil.Uint64 }
		if err := c.CallContext(ctx, &head, "eth_getBlockByNumber", "latest", false); err != nil {
			return err
		}
		if id != ChainID || uint64(head.GasLimit) != gasLimit {
			// Someone else's node: ours is still starting, or exits soon.
			return fmt.Errorf("the port answers chain id %d, gas limit %d: not this process (%d, %d)", id, head.GasLimit, ChainID, gasLimit)
		}
		return nil
	})
	if err != nil {
		c.Close()
		return fail(err)
	}
	n.rpc, n.client = c, ethclient.NewClient(c)
	n.SetProcess(proc)
	n.logger().Info("anvil started", "url", n.URL())
	return nil
}

// URL returns the JSON-RPC endpoint, "http://127.0.0.1:PORT".
func (n *Node) URL() string { return "http://" + procutil.LoopbackAddr(n.port) }

// Port returns the JSON-RPC port.
func (n *Node) Port() int { return n.port }

// Client returns a client of the node.
func (n *Node) Client() *ethclient.Client { return n.client }

// RPC returns the raw JSON-RPC client, for anvil's own methods.
func (n *Node) RPC() *rpc.Client { return n.rpc }

// Eth returns the client as what contract bindings and contracts.Deploy need.
func (n *Node) Eth() contracts.Backend { return n.client }

// Keys returns the private keys of the funded accounts, in anvil's order.
func (n *Node) Keys() []*ecdsa.PrivateKey { return n.keys }

// Address returns the address of account i.
func (n *Node) Address(i int) common.Address { return crypto.PubkeyToAddress(n.keys[i].PublicKey) }

// Opts returns transaction options for account i.
func (n *Node) Opts(i int) *bind.TransactOpts {
	opts, err := bind.NewKeyedTransactorWithChainID(n.keys[i], big.NewInt(ChainID))
	if err != nil {
		panic(err) // only fails for a nil key
	}
	return opts
}

// call calls an anvil method, naming it in the error.
func (n *Node) call(ctx context.Context, result any, method string, args ...any) error {
	if err := n.rpc.CallContext(ctx, result, method, args...); err != nil {
		return fmt.Errorf("anvil: %s: %w", method, err)
	}
	return nil
}

// MineBlocks mines n blocks (with whatever the pool holds).
func (n *Node) MineBlocks(ctx context.Context, blocks int) error {
	if blocks <= 0 {
		return nil
	}
	return n.call(ctx, nil, "anvil_mine", hexutil.Uint64(blocks))
}

// IncreaseTime mines a block whose timestamp is d after the head's (with whatever the pool
// holds), as a chain would after d of wall time; later blocks continue from there.
func (n *Node) IncreaseTime(ctx context.Context, d time.Duration) error {
	head, err := n.client.HeaderByNumber(ctx, nil)
	if err != nil {
		return fmt.Errorf("anvil: read the head: %w", err)
	}
	secs := uint64(max(d/time.Second, 1))
	if err := n.call(ctx, nil, "evm_setNextBlockTimestamp", hexutil.Uint64(head.Time+secs)); err != nil {
		return err
	}
	return n.call(ctx, nil, "evm_mine")
}

// SetAutomine turns mining of every transaction as it arrives on or off.
func (n *Node) SetAutomine(ctx context.Context, on bool) error {
	return n.call(ctx, nil, "evm_setAutomine", on)
}

// Automine reports whether the node mines every transaction as it arrives.
func (n *Node) Automine(ctx context.Context) (bool, error) {
	var on bool
	err := n.call(ctx, &on, "anvil_getAutomine")
	return on, err
}

// RawTxAt is a signed transaction for a new branch, and the block of the branch it goes in
// (0 is the first new block).
type RawTxAt struct {
	Tx    *types.Transaction
	Block uint64
}

// Reorg replaces the last depth blocks by as many new ones holding txs (anvil_reorg): the
// head keeps its number and gets a new hash; transactions of the old blocks that txs does
// not name are gone. A block may come out identical to the one it replaced (same hash) when
// it holds the same transactions at the same time.
func (n *Node) Reorg(ctx context.Context, depth int, txs []RawTxAt) error {
	pairs := make([][2]any, len(txs))
	for i, t := range txs {
		raw, err := t.Tx.MarshalBinary()
		if err != nil {
			return fmt.Errorf("anvil: encode reorg transaction %d: %w", i, err)
		}
		pairs[i] = [2]any{hexutil.Bytes(raw), t.Block}
	}
	// anvil wants plain JSON numbers here, not quantities.
	return n.call(ctx, nil, "anvil_reorg", depth, pairs)
}

// Rollback removes the last depth blocks (anvil_rollback): the chain gets shorter.
func (n *Node) Rollback(ctx context.Context, depth int) error {
	// A JSON number: anvil refuses a quantity string ("0x6") here.
	return n.call(ctx, nil, "anvil_rollback", depth)
}

// DropSender removes every transaction of an account from the pool, those waiting for a
// nonce gap to close included (anvil_dropTransaction leaves those).
func (n *Node) DropSender(ctx context.Context, from common.Address) error {
	return n.call(ctx, nil, "anvil_removePoolTransactions", from)
}

// Head returns the head header.
func (n *Node) Head(ctx context.Context) (*types.Header, error) {
	return n.client.HeaderByNumber(ctx, nil)
}

// Receipt returns tx's receipt once it is mined, mining a block when the node does not
// mine by itself, and fails unless it succeeded. A transaction no block includes (a nonce
// gap after a reorg, say) is an error, and its sender's transactions leave the pool, so later blocks and
// reorgs start clean.
func (n *Node) Receipt(ctx context.Context, tx *types.Transaction) (*types.Receipt, error) {
	r, err := n.client.TransactionReceipt(ctx, tx.Hash())
	if errors.Is(err, ethereum.NotFound) {
		// With automine the block is on its way: anvil answers eth_sendRawTransaction before
		// it mined the transaction's block. Mining one now would put the transaction in a
		// block of our own, and the automined block would come out empty or hold the next
		// transaction too: a chain that depends on timing.
		r, err = n.automined(ctx, tx)
	}
	if errors.Is(err, ethereum.NotFound) {
		if err := n.MineBlocks(ctx, 1); err != nil {
			return nil, err
		}
		r, err = n.client.TransactionReceipt(ctx, tx.Hash())
		if errors.Is(err, ethereum.NotFound) {
			if from, serr := types.Sender(types.LatestSignerForChainID(tx.ChainId()), tx); serr == nil {
				_ = n.DropSender(ctx, from)
			}
			return nil, fmt.Errorf("transaction %s was not mined: %w", tx.Hash(), err)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("receipt of %s: %w", tx.Hash(), err)
	}
	if r.Status != types.ReceiptStatusSuccessful {
		return r, fmt.Errorf("transaction %s reverted", tx.Hash())
	}
	return r, nil
}

// automineWait bounds how long Receipt waits for automine to include a transaction.
const automineWait = 10 * time.Second

// automined waits for automine to mine tx, when automine is on and tx is not waiting for a
// nonce gap to close (such a transaction is never mined: NotFound at once, as when automine
// is off).
func (n *Node) automined(ctx context.Context, tx *types.Transaction) (*types.Receipt, error) {
	on, err := n.Automine(ctx)
	if err != nil || !on {
		return nil, ethereum.NotFound
	}
	from, err := types.Sender(types.LatestSignerForChainID(tx.ChainId()), tx)
	if err != nil {
		return nil, ethereum.NotFound
	}
	deadline := time.Now().Add(automineWait)
	for pause := 500 * time.Microsecond; ; pause = min(2*pause, 20*time.Millisecond) {
		r, err := n.client.TransactionReceipt(ctx, tx.Hash())
		if !errors.Is(err, ethereum.NotFound) || time.Now().After(deadline) {
			return r, err
		}
		nonce, err := n.client.NonceAt(ctx, from, nil)
		if err != nil {
			return nil, err
		}
		switch {
		case nonce < tx.Nonce():
			return nil, ethereum.NotFound // a gap: automine will not mine it
		case nonce > tx.Nonce():
			// Mined (anvil updates the state a moment before the receipt is readable), or
			// replaced by another transaction of the same nonce: wait a little only.
			if soon := time.Now().Add(time.Second); soon.Before(deadline) {
				deadline = soon
			}
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(pause):
		}
	}
}

// Stop stops the node (SIGTERM, then SIGKILL); its chain is gone.
func (n *Node) Stop() error {
	stopped, err := n.StopProcess()
	if err != nil {
		return fmt.Errorf("anvil: %w", err)
	}
	if stopped {
		n.logger().Info("anvil stopped", "url", n.URL())
	}
	return nil
}

// Close closes the client and stops the node. It is safe to call more than once.
func (n *Node) Close() error {
	if !n.MarkClosed() {
		return nil
	}
	if n.rpc != nil {
		n.rpc.Close()
	}
	return n.Stop()
}
