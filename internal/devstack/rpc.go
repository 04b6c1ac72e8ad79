package devstack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/modeldao/modeldao/devchain"
)

// The dev chain's JSON-RPC endpoint is a small front (rpcFront) in front of the simulated
// node: it answers the development methods that Hardhat and Anvil made common (evm_mine,
// evm_increaseTime, anvil_mine, hardhat_mine), which scripts and the CLI's `mine` command use
// to move through voting periods and timelock delays, and hands everything else (HTTP and
// WebSocket) to the node unchanged.

// devMethodPrefixes name the namespaces the front answers itself.
var devMethodPrefixes = []string{"evm_", "anvil_", "hardhat_"}

func isDevMethod(m string) bool {
	for _, p := range devMethodPrefixes {
		if strings.HasPrefix(m, p) {
			return true
		}
	}
	return false
}

type rpcFront struct {
	proxy *httputil.ReverseProxy
	dev   *rpc.Server
	log   *slog.Logger
}

func newRPCFront(node string, chain *devchain.Chain, log *slog.Logger) (*rpcFront, error) {
	u, err := url.Parse(node)
	if err != nil {
		return nil, err
	}
	dev := rpc.NewServer()
	api := &devAPI{chain: chain}
	for ns, svc := range map[string]any{"evm": &evmAPI{api}, "anvil": &anvilAPI{api}, "hardhat": &hardhatAPI{api}} {
		if err := dev.RegisterName(ns, svc); err != nil {
			return nil, err
		}
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	proxy.ErrorLog = nil
	proxy.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		log.Debug("dev chain RPC proxy", "err", err)
		http.Error(w, "dev chain unavailable: "+err.Error(), http.StatusBadGateway)
	}
	return &rpcFront{proxy: proxy, dev: dev, log: log}, nil
}

// maxRPCBody bounds what the front reads to decide where a request goes (the node's own
// limit is 5 MB).
const maxRPCBody = 5 << 20

func (f *rpcFront) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		f.proxy.ServeHTTP(w, r)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRPCBody+1))
	if err != nil {
		http.Error(w, "reading the request: "+err.Error(), http.StatusBadRequest)
		return
	}
	if len(body) > maxRPCBody {
		http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	dev, other := classify(body)
	switch {
	case dev > 0 && other > 0:
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprintf(w, `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"a batch may not mix evm_/anvil_/hardhat_ methods with others on this dev chain: send them separately"}}`)
	case dev > 0:
		f.dev.ServeHTTP(w, r)
	default:
		f.proxy.ServeHTTP(w, r)
	}
}

// classify counts the development methods and the other methods of a request or batch.
func classify(body []byte) (dev, other int) {
	var msgs []struct {
		Method string `json:"method"`
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) > 0 && trimmed[0] == '[' {
		if json.Unmarshal(trimmed, &msgs) != nil {
			return 0, 1
		}
	} else {
		var one struct {
			Method string `json:"method"`
		}
		if json.Unmarshal(trimmed, &one) != nil {
			return 0, 1
		}
		msgs = append(msgs, one)
	}
	for _, m := range msgs {
		if isDevMethod(m.Method) {
			dev++
		} else {
			other++
		}
	}
	return dev, other
}

// devAPI implements the development methods on the chain.
type devAPI struct{ chain *devchain.Chain }

// quantity reads a JSON number, a decimal string or a 0x hex string.
func quantity(raw json.RawMessage, what string) (uint64, error) {
	var n json.Number
	if err := json.Unmarshal(raw, &n); err == nil {
		if v, err := strconv.ParseUint(n.String(), 10, 64); err == nil {
			return v, nil
		}
		if f, err := n.Float64(); err == nil && f >= 0 {
			return uint64(f), nil
		}
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		if v, ok := new(big.Int).SetString(strings.TrimPrefix(s, "0x"), map[bool]int{true: 16, false: 10}[strings.HasPrefix(s, "0x")]); ok && v.IsUint64() {
			return v.Uint64(), nil
		}
	}
	return 0, fmt.Errorf("%s: want a number or a 0x hex quantity, got %s", what, string(raw))
}

// maxMineBlocks bounds one mining call (about 15 s of work).
const maxMineBlocks = 10_000

func (a *devAPI) mine(blocks, interval *json.RawMessage) error {
	n := uint64(1)
	if blocks != nil {
		var err error
		if n, err = quantity(*blocks, "blocks"); err != nil {
			return err
		}
	}
	if n > maxMineBlocks {
		return fmt.Errorf("at most %d blocks per call", maxMineBlocks)
	}
	if interval != nil && string(*interval) != "null" {
		if step, err := quantity(*interval, "interval"); err != nil || step != 0 {
			return errors.New("mining with an interval is not supported on this dev chain: mine, then call evm_increaseTime")
		}
	}
	a.chain.Mine(int(n))
	return nil
}

func (a *devAPI) increaseTime(seconds json.RawMessage) (uint64, error) {
	s, err := quantity(seconds, "seconds")
	if err != nil {
		return 0, err
	}
	// AdvanceTime mines the pending transactions first and then a block s seconds later; a
	// transaction that arrives in between makes it fail, so try again.
	for attempt := 0; ; attempt++ {
		err = a.chain.AdvanceTime(time.Duration(s) * time.Second)
		if err == nil || attempt == 3 {
			return s, err
		}
	}
}

type evmAPI struct{ *devAPI }

// Mine mines one block (evm_mine); a timestamp argument is not supported.
func (a *evmAPI) Mine(ts *json.RawMessage) (string, error) {
	if ts != nil && string(*ts) != "null" {
		return "", errors.New("evm_mine with a timestamp is not supported on this dev chain: use evm_increaseTime")
	}
	return "0x0", a.mine(nil, nil)
}

// IncreaseTime mines a block whose timestamp is the given number of seconds later
// (evm_increaseTime; unlike Hardhat, the block is mined at once) and returns the seconds.
func (a *evmAPI) IncreaseTime(seconds json.RawMessage) (uint64, error) {
	return a.increaseTime(seconds)
}

type anvilAPI struct{ *devAPI }

// Mine mines blocks (default 1), interval seconds apart (anvil_mine).
func (a *anvilAPI) Mine(blocks, interval *json.RawMessage) error { return a.mine(blocks, interval) }

// IncreaseTime is evm_increaseTime (anvil_increaseTime).
func (a *anvilAPI) IncreaseTime(seconds json.RawMessage) (uint64, error) {
	return a.increaseTime(seconds)
}

type hardhatAPI struct{ *devAPI }

// Mine mines blocks (default 1), interval seconds apart (hardhat_mine).
func (a *hardhatAPI) Mine(blocks, interval *json.RawMessage) error { return a.mine(blocks, interval) }

// miner mines a block when transactions are pending (checked every poll, 50 ms) and, when
// interval > 0, whenever no block was mined for interval. Seeding holds it (hold) so that
// its blocks do not interleave with the seed's.
type miner struct {
	chain    *devchain.Chain
	rc       *rpc.Client
	pending  func(context.Context) (uint, error)
	poll     time.Duration
	interval time.Duration
	log      *slog.Logger
	hold     sync.Mutex
}

func newMiner(chain *devchain.Chain, interval time.Duration, log *slog.Logger) (*miner, error) {
	rc, err := rpc.Dial(chain.URL())
	if err != nil {
		return nil, fmt.Errorf("connect to the dev chain's node: %w", err)
	}
	// txpool_status sees a transaction as soon as the pool has it; the pending block (what
	// eth_getBlockTransactionCountByNumber("pending") counts) is rebuilt only every few
	// seconds.
	pending := func(ctx context.Context) (uint, error) {
		var st struct {
			Pending hexutil.Uint `json:"pending"`
		}
		err := rc.CallContext(ctx, &st, "txpool_status")
		return uint(st.Pending), err
	}
	return &miner{chain: chain, rc: rc, pending: pending, poll: 50 * time.Millisecond, interval: interval, log: log}, nil
}

func (m *miner) run(ctx context.Context) {
	tick := time.NewTicker(m.poll)
	defer tick.Stop()
	last := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if !m.hold.TryLock() {
			last = time.Now()
			continue
		}
		n, err := m.pending(ctx)
		switch {
		case err != nil:
			if ctx.Err() == nil {
				m.log.Debug("dev chain: counting pending transactions failed", "err", err)
			}
		case n > 0:
			m.chain.Commit()
			last = time.Now()
		case m.interval > 0 && time.Since(last) >= m.interval:
			m.chain.Commit()
			last = time.Now()
		}
		m.hold.Unlock()
	}
}

// listen opens a TCP listener, with an error that says what to do when the address is taken.
func listen(addr, what, flag string) (net.Listener, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("cannot listen on %s for the %s: %w (is another `modeldao dev` or node running? stop it, or pass %s 127.0.0.1:0 for a free port)", addr, what, err, flag)
	}
	return l, nil
}
