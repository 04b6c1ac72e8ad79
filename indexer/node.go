package indexer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"sync/atomic"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/rpc"
)

// Node is the Chain of a JSON-RPC endpoint: go-ethereum's client for every call, except the
// range queries of eth_getLogs over HTTP(S), which it sends itself and decodes from the
// response body as it arrives. go-ethereum's client reads a whole answer into memory and
// scans it twice more (json.Decoder, then the RawMessage result's validation) before a
// decoder sees it; on a backfill these passes were a large part of the indexer's CPU per
// event (see BENCHMARKS.md, issue 11). An answer the stream decoder does not expect (an
// odd field, an escape, a null result) is asked again through go-ethereum's client, so
// that what the index holds, and every error, stay go-ethereum's.
type Node struct {
	*ethclient.Client
	logs *logsClient // nil: not an HTTP endpoint, everything goes through Client
}

// NewNode returns the Chain of the endpoint at rawurl, which c was dialed with.
func NewNode(c *ethclient.Client, rawurl string) *Node {
	n := &Node{Client: c}
	if u, err := url.Parse(rawurl); err == nil && (u.Scheme == "http" || u.Scheme == "https") {
		n.logs = &logsClient{url: rawurl, hc: &http.Client{}, bufSize: defaultStreamBuffer, plain: isLoopback(u.Hostname())}
	}
	return n
}

// FilterLogs is ethclient.Client.FilterLogs, decoding range queries itself over HTTP.
func (n *Node) FilterLogs(ctx context.Context, q ethereum.FilterQuery) ([]types.Log, error) {
	if n.logs == nil || q.BlockHash != nil || !plainBlock(q.FromBlock) || !plainBlock(q.ToBlock) || len(q.Topics) > 0 {
		return n.Client.FilterLogs(ctx, q)
	}
	logs, err := n.logs.getLogs(ctx, q.FromBlock.Uint64(), q.ToBlock.Uint64(), q.Addresses)
	if errors.Is(err, errUnusualAnswer) {
		n.logs.fallbacks.Add(1)
		return filterLogs(ctx, n.Client, q)
	}
	return logs, err
}

// plainBlock reports whether b is a block number (not nil for latest, nor a negative tag
// such as rpc.PendingBlockNumber).
func plainBlock(b *big.Int) bool { return b != nil && b.IsUint64() }

// isLoopback reports whether host is this machine. A node there is asked for uncompressed
// answers: gzip saves no network there, and costs CPU on both sides of the connection
// (geth compresses every answer that accepts it), which the node and the indexer share.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// errUnusualAnswer says that the stream decoder met something it does not handle; the
// call is made again through go-ethereum's client.
var errUnusualAnswer = errors.New("eth_getLogs: an answer the stream decoder does not handle")

// logsClient sends eth_getLogs range queries over HTTP.
type logsClient struct {
	url       string
	hc        *http.Client
	bufSize   int  // first size of the read buffer (the tests make it tiny)
	plain     bool // ask for an uncompressed answer (a node on this machine, see isLoopback)
	id        atomic.Uint64
	fallbacks atomic.Int64 // answers asked again through go-ethereum's client
}

// defaultStreamBuffer is the read buffer of an answer: a few hundred logs. It grows only
// for a log larger than itself.
const defaultStreamBuffer = 128 << 10

// maxStreamBuffer bounds the buffer: a single log larger than this goes to go-ethereum.
const maxStreamBuffer = 64 << 20

// rpcError is a JSON-RPC error answer, as go-ethereum's client reports it (rpc.Error,
// rpc.DataError), so that isRangeError and the logs read it alike.
type rpcError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Data    any    `json:"data,omitempty"`
}

func (e *rpcError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("json-rpc error %d", e.Code)
	}
	return e.Message
}

func (e *rpcError) ErrorCode() int { return e.Code }

func (e *rpcError) ErrorData() any { return e.Data }

// request is the JSON-RPC request of eth_getLogs over blocks from..to of addrs.
func (c *logsClient) request(id, from, to uint64, addrs []common.Address) []byte {
	b := make([]byte, 0, 128+45*len(addrs))
	b = append(b, `{"jsonrpc":"2.0","id":`...)
	b = strconv.AppendUint(b, id, 10)
	b = append(b, `,"method":"eth_getLogs","params":[{"fromBlock":"0x`...)
	b = strconv.AppendUint(b, from, 16)
	b = append(b, `","toBlock":"0x`...)
	b = strconv.AppendUint(b, to, 16)
	b = append(b, '"')
	if len(addrs) > 0 {
		b = append(b, `,"address":[`...)
		for i, a := range addrs {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `"0x`...)
			b = appendHex(b, a[:])
			b = append(b, '"')
		}
		b = append(b, ']')
	}
	return append(b, `}]}`...)
}

func appendHex(b, v []byte) []byte {
	const digits = "0123456789abcdef"
	for _, c := range v {
		b = append(b, digits[c>>4], digits[c&15])
	}
	return b
}

// getLogs asks for the logs of blocks from..to and decodes the answer as it arrives. It
// returns errUnusualAnswer (nothing else is wrong) for an answer the decoder does not
// handle; HTTP failures come back as go-ethereum's client reports them (rpc.HTTPError).
func (c *logsClient) getLogs(ctx context.Context, from, to uint64, addrs []common.Address) ([]types.Log, error) {
	id := c.id.Add(1)
	body := c.request(id, from, to, addrs)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if c.plain {
		// Go's transport would ask for gzip (and decompress transparently).
		req.Header.Set("Accept-Encoding", "identity")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return nil, rpc.HTTPError{Status: resp.Status, StatusCode: resp.StatusCode, Body: b}
	}
	st := &logStream{r: resp.Body, buf: make([]byte, max(c.bufSize, 1))}
	st.s.b = st.buf[:0]
	logs, err := st.answer(id)
	if err == nil {
		// Read to the end, so that the connection goes back to the pool.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	}
	return logs, err
}
