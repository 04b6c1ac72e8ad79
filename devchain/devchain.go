// Package devchain runs a local Ethereum chain for tests and `modeldao dev`: go-ethereum's
// simulated backend (a real EVM, chain id 1337) with funded, well-known dev accounts,
// optionally serving standard JSON-RPC over HTTP on loopback so that ethclient, wallets and
// ethers/viem scripts can connect.
//
// The keys are derived from a fixed seed and printed by `modeldao dev`: they are for local
// chains only and must never hold real funds.
package devchain

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"math/big"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/eth/ethconfig"
	"github.com/ethereum/go-ethereum/ethclient/simulated"
	"github.com/ethereum/go-ethereum/node"

	"github.com/modeldao/modeldao/contracts"
)

// ChainID is the chain id of the simulated backend.
const ChainID = 1337

// Account is a funded dev account.
type Account struct {
	Key     *ecdsa.PrivateKey
	Address common.Address
}

// KeyHex returns the private key as 0x-prefixed hex (for printing to developers).
func (a Account) KeyHex() string { return fmt.Sprintf("%#x", crypto.FromECDSA(a.Key)) }

// DevAccounts returns n deterministic accounts: key i is keccak256("modeldao dev account i").
func DevAccounts(n int) []Account {
	accts := make([]Account, n)
	for i := range accts {
		key, err := crypto.ToECDSA(crypto.Keccak256([]byte("modeldao dev account " + strconv.Itoa(i))))
		if err != nil {
			panic(err) // a keccak digest is a valid secp256k1 key with overwhelming probability; index 0..n are checked by tests
		}
		accts[i] = Account{Key: key, Address: crypto.PubkeyToAddress(key.PublicKey)}
	}
	return accts
}

// Options configure a Chain.
type Options struct {
	Accounts int    // funded accounts; default 10
	HTTPAddr string // "127.0.0.1:0" serves JSON-RPC (and WebSocket on the same port) on a free port; "" serves none
	// BlockGasLimit raises the block gas limit (benchmarks pack thousands of transactions
	// into a block); 0 keeps go-ethereum's default.
	BlockGasLimit uint64
}

// Chain is a simulated chain. Its methods are safe for concurrent use: Commit and the other
// mining calls are serialised, as tests drive a chain from several goroutines.
type Chain struct {
	Backend  *simulated.Backend
	Client   simulated.Client
	Accounts []Account
	httpURL  string

	mu sync.Mutex
}

// New starts a chain. Close it when done.
func New(opts Options) (*Chain, error) {
	if opts.Accounts == 0 {
		opts.Accounts = 10
	}
	accts := DevAccounts(opts.Accounts)
	alloc := types.GenesisAlloc{}
	funds := new(big.Int).Mul(big.NewInt(1_000_000), big.NewInt(1e18))
	for _, a := range accts {
		alloc[a.Address] = types.Account{Balance: funds}
	}
	// A free port is picked before the node binds it, so another process may take it in
	// between: with port 0 a failed start is tried again on a new port.
	for attempt := 1; ; attempt++ {
		b, httpURL, err := newBackend(alloc, opts)
		if err == nil {
			return &Chain{Backend: b, Client: b.Client(), Accounts: accts, httpURL: httpURL}, nil
		}
		if attempt == 3 || !strings.HasSuffix(opts.HTTPAddr, ":0") {
			return nil, err
		}
	}
}

// newBackend starts the simulated backend; the backend panics when its node cannot start
// (a port taken), which is turned into an error here.
func newBackend(alloc types.GenesisAlloc, opts Options) (b *simulated.Backend, httpURL string, err error) {
	var nodeOpts []func(*node.Config, *ethconfig.Config)
	if opts.HTTPAddr != "" {
		host, port, err := freeAddr(opts.HTTPAddr)
		if err != nil {
			return nil, "", err
		}
		nodeOpts = append(nodeOpts, func(nc *node.Config, ec *ethconfig.Config) {
			nc.HTTPHost, nc.HTTPPort = host, port
			nc.HTTPModules = []string{"eth", "net", "web3", "txpool", "debug"}
			nc.HTTPCors = []string{"*"}
			nc.HTTPVirtualHosts = []string{"*"}
			nc.WSHost, nc.WSPort = host, port
			nc.WSModules = []string{"eth", "net", "web3"}
			nc.WSOrigins = []string{"*"}
			// A dev chain serves wide ranges of logs: tests shrink this through a proxy.
			ec.RPCGasCap = 50_000_000
		})
		httpURL = fmt.Sprintf("http://%s", net.JoinHostPort(host, strconv.Itoa(port)))
	}
	if opts.BlockGasLimit > 0 {
		nodeOpts = append(nodeOpts, simulated.WithBlockGasLimit(opts.BlockGasLimit))
	}
	defer func() {
		if r := recover(); r != nil {
			b, err = nil, fmt.Errorf("start the dev chain on %s: %v", httpURL, r)
		}
	}()
	return simulated.NewBackend(alloc, nodeOpts...), httpURL, nil
}

// freeAddr resolves a host:port with port 0 to a free port on that host.
func freeAddr(addr string) (string, int, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("dev chain address %q: %w", addr, err)
	}
	if port != "0" {
		p, err := strconv.Atoi(port)
		return host, p, err
	}
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return "", 0, fmt.Errorf("find a free port on %s: %w", host, err)
	}
	defer l.Close()
	return host, l.Addr().(*net.TCPAddr).Port, nil
}

// URL is the JSON-RPC endpoint, or "" when the chain serves none.
func (c *Chain) URL() string { return c.httpURL }

// Close stops the chain.
func (c *Chain) Close() error { return c.Backend.Close() }

// Opts returns transaction options for account i.
func (c *Chain) Opts(i int) *bind.TransactOpts {
	opts, err := bind.NewKeyedTransactorWithChainID(c.Accounts[i].Key, big.NewInt(ChainID))
	if err != nil {
		panic(err) // only fails for a nil key
	}
	return opts
}

// Commit mines one block with the pending transactions and returns its hash.
func (c *Chain) Commit() common.Hash {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.Backend.Commit()
}

// Mine mines n blocks.
func (c *Chain) Mine(n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for range n {
		c.Backend.Commit()
	}
}

// AdvanceTime mines pending transactions, then a block whose timestamp is d later.
func (c *Chain) AdvanceTime(d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.Backend.Commit()
	// After a Fork the pool puts the abandoned branch's transactions back, possibly after the
	// Commit above, and the backend refuses to move time over a non-empty block: mine them
	// (a few times), and drop what still will not go in, as Receipt does.
	var err error
	for attempt := 0; attempt < 4; attempt++ {
		if err = c.Backend.AdjustTime(d); err == nil || !strings.Contains(err.Error(), "non-empty block") {
			return err
		}
		if attempt < 2 {
			c.Backend.Commit()
		} else {
			c.Backend.Rollback()
		}
	}
	return err
}

// Eth returns the chain's client (Node).
func (c *Chain) Eth() contracts.Backend { return c.Client }

// Keys returns the funded accounts' keys (Node).
func (c *Chain) Keys() []*ecdsa.PrivateKey {
	keys := make([]*ecdsa.PrivateKey, len(c.Accounts))
	for i, a := range c.Accounts {
		keys[i] = a.Key
	}
	return keys
}

// MineBlocks mines n blocks (Node); the simulated backend cannot fail to.
func (c *Chain) MineBlocks(_ context.Context, n int) error {
	c.Mine(n)
	return nil
}

// IncreaseTime is AdvanceTime (Node).
func (c *Chain) IncreaseTime(_ context.Context, d time.Duration) error { return c.AdvanceTime(d) }

// Fork makes the block with the given hash the head; blocks after it become a side chain
// that the next commits outgrow: a reorg.
func (c *Chain) Fork(parent common.Hash) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.Backend.Fork(parent)
}

// Head returns the current head header.
func (c *Chain) Head(ctx context.Context) (*types.Header, error) {
	return c.Client.HeaderByNumber(ctx, nil)
}

// Receipt mines a block and returns tx's receipt, failing unless it succeeded. A
// transaction the block did not include (a nonce gap after a reorg, say) is an error, and the
// pool is cleared so that later blocks and forks start clean.
func (c *Chain) Receipt(ctx context.Context, tx *types.Transaction) (*types.Receipt, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.Backend.Commit()
	r, err := c.Client.TransactionReceipt(ctx, tx.Hash())
	if err != nil {
		c.Backend.Rollback()
		return nil, fmt.Errorf("transaction %s was not mined: %w", tx.Hash(), err)
	}
	if r.Status != types.ReceiptStatusSuccessful {
		return r, fmt.Errorf("transaction %s reverted", tx.Hash())
	}
	return r, nil
}
