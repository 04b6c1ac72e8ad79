package pinning

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	neturl "net/url"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ipfs/boxo/files"
	"github.com/ipfs/boxo/path"
	"github.com/ipfs/go-cid"
	"github.com/ipfs/kubo/client/rpc"
	iface "github.com/ipfs/kubo/core/coreiface"
	"github.com/ipfs/kubo/core/coreiface/options"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/modeldao/modeldao"
)

// Client is a client of a kubo daemon's RPC API: kubo's client/rpc HttpApi (the whole
// CoreAPI) and the address it was made for, which error messages, logs and the API (a pin
// replica's node) name. Addr is the address without credentials: a URL's user, password,
// query and fragment are left out (see NodeName), since pin records are served publicly.
type Client struct {
	*rpc.HttpApi
	Addr string
}

// NodeName returns the identity of the IPFS API at addr as the pinner shows it: a multiaddr
// as it is, a URL without its user and password, query and fragment (where credentials and
// tokens live).
func NodeName(addr string) string {
	if strings.HasPrefix(addr, "/") {
		return addr
	}
	u, err := neturl.Parse(strings.TrimRight(addr, "/"))
	if err != nil || u.Host == "" {
		return "(unparsable IPFS API address)"
	}
	u.User, u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = nil, "", false, "", ""
	u.Path, u.RawPath = strings.TrimRight(u.Path, "/"), ""
	return u.String()
}

// NewClient returns a client of the kubo RPC API at addr, a multiaddr
// ("/ip4/127.0.0.1/tcp/5001") or a URL ("http://127.0.0.1:5001"), without contacting it.
// hc nil means an HTTP client with a 10 s dial timeout and no overall timeout (pins and
// reads stream for as long as they make progress; contexts bound them).
func NewClient(addr string, hc *http.Client) (*Client, error) {
	if hc == nil {
		hc = &http.Client{Transport: &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConnsPerHost: 4,
			IdleConnTimeout:     90 * time.Second,
		}}
	}
	url := strings.TrimRight(addr, "/")
	if strings.HasPrefix(addr, "/") {
		m, err := ma.NewMultiaddr(addr)
		if err != nil {
			return nil, modeldao.WrapError(modeldao.EINVALID, err, "IPFS API address %q: want a multiaddr like /ip4/127.0.0.1/tcp/5001 or a URL like http://127.0.0.1:5001", addr)
		}
		api, err := rpc.NewApiWithClient(m, hc)
		if err != nil {
			return nil, modeldao.WrapError(modeldao.EINVALID, err, "IPFS API address %q: want a multiaddr like /ip4/127.0.0.1/tcp/5001 or a URL like http://127.0.0.1:5001", addr)
		}
		return &Client{HttpApi: api, Addr: NodeName(addr)}, nil
	}
	if !strings.HasPrefix(url, "http://") && !strings.HasPrefix(url, "https://") {
		return nil, modeldao.Errorf(modeldao.EINVALID, "IPFS API address %q: want a multiaddr like /ip4/127.0.0.1/tcp/5001 or a URL like http://127.0.0.1:5001", NodeName(addr))
	}
	api, err := rpc.NewURLApiWithClient(url, hc)
	if err != nil {
		return nil, modeldao.WrapError(modeldao.EINVALID, err, "IPFS API address %q", NodeName(addr))
	}
	return &Client{HttpApi: api, Addr: NodeName(addr)}, nil
}

// Connect is NewClient followed by Ping: it fails with EUNAVAILABLE when the daemon does not
// answer.
func Connect(ctx context.Context, addr string, hc *http.Client) (*Client, error) {
	c, err := NewClient(addr, hc)
	if err != nil {
		return nil, err
	}
	if err := c.Ping(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// Ping asks the daemon for its version, within 5 s.
func (c *Client) Ping(ctx context.Context) error {
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var out struct{ Version string }
	err := c.Request("version").Exec(pctx, &out)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return c.unavailable(err)
	}
	return nil
}

func (c *Client) unavailable(err error) error {
	return modeldao.WrapError(modeldao.EUNAVAILABLE, err, "IPFS API at %s did not answer: is the daemon running?", c.Addr)
}

// kuboMessage returns the message of an error kubo sent, and false for other errors
// (transport, context).
func kuboMessage(err error) (string, bool) {
	var ce *rpc.Error
	if errors.As(err, &ce) {
		return ce.Message, true
	}
	return "", false
}

// errNoProgress is the cause with which the inactivity watchdog cancels a pin.
var errNoProgress = errors.New("no progress")

// pinProgress is what kubo reported of a pin so far.
type pinProgress struct {
	Blocks int
	Bytes  uint64
}

// pinAdd pins c recursively under name through the HTTP RPC command
// "pin/add?progress=true" (the client's PinAPI.Add does not expose progress): kubo then
// emits {"Progress": blocks, "Bytes": bytes} every 500 ms while it fetches, and {"Pins": [...]}
// at the end. The pin is cancelled only when neither number grew for inactivity; ctx (the
// caller's deadline) bounds it as well. onProgress, if not nil, is called whenever the
// numbers grow.
func (c *Client) pinAdd(ctx context.Context, id cid.Cid, name string, inactivity time.Duration, onProgress func(pinProgress)) (pinProgress, error) {
	reqCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	watchdog := time.AfterFunc(inactivity, func() { cancel(errNoProgress) })
	defer watchdog.Stop()

	var last pinProgress
	fail := func(err error) (pinProgress, error) {
		if context.Cause(reqCtx) == errNoProgress && ctx.Err() == nil {
			return last, &transientError{msg: fmt.Sprintf(
				"no progress for %s while pinning %s (%d blocks, %d bytes fetched so far): is the content provided by a peer this node can reach?",
				inactivity, id, last.Blocks, last.Bytes)}
		}
		if ctx.Err() != nil {
			return last, ctx.Err()
		}
		if msg, ok := kuboMessage(err); ok {
			return last, &transientError{msg: fmt.Sprintf("pinning %s: %s", id, msg)}
		}
		return last, err // transport: the caller checks whether the daemon is up
	}

	resp, err := c.Request("pin/add", id.String()).
		Option("recursive", true).
		Option("name", name).
		Option("progress", true).
		Send(reqCtx)
	if err != nil {
		return fail(err)
	}
	if resp.Error != nil {
		return fail(resp.Error)
	}
	defer func() { _ = resp.Cancel() }()
	dec := json.NewDecoder(resp.Output)
	pinned := false
	for {
		var ev struct {
			Pins     []string
			Progress int
			Bytes    uint64
		}
		if err := dec.Decode(&ev); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			if reqCtx.Err() == nil && !isTransport(err) {
				// the stream ended with kubo's error (the X-Stream-Error trailer)
				return last, &transientError{msg: fmt.Sprintf("pinning %s: %v", id, err)}
			}
			return fail(err)
		}
		if ev.Progress > last.Blocks || ev.Bytes > last.Bytes {
			last = pinProgress{Blocks: max(last.Blocks, ev.Progress), Bytes: max(last.Bytes, ev.Bytes)}
			watchdog.Reset(inactivity)
			if onProgress != nil {
				onProgress(last)
			}
		}
		if len(ev.Pins) > 0 {
			pinned = true
		}
	}
	if !pinned {
		if reqCtx.Err() != nil {
			return fail(reqCtx.Err())
		}
		return last, &transientError{msg: fmt.Sprintf("pinning %s: kubo ended pin/add without confirming the pin", id)}
	}
	return last, nil
}

// isTransport reports whether err comes from the connection rather than from kubo.
func isTransport(err error) bool {
	var ne net.Error
	var oe *net.OpError
	return errors.As(err, &ne) || errors.As(err, &oe) || errors.Is(err, io.ErrUnexpectedEOF) ||
		strings.Contains(err.Error(), "connection reset") || strings.Contains(err.Error(), "broken pipe")
}

// isPinned reports whether c is pinned recursively.
func (c *Client) isPinned(ctx context.Context, id cid.Cid) (bool, error) {
	_, ok, err := c.Pin().IsPinned(ctx, path.FromCid(id), options.Pin.IsPinned.Recursive())
	return ok, err
}

// unpin removes the recursive pin of c; a CID that is not pinned is not an error.
func (c *Client) unpin(ctx context.Context, id cid.Cid) error {
	err := c.Pin().Rm(ctx, path.FromCid(id), options.Pin.RmRecursive(true))
	if err == nil {
		return nil
	}
	if msg, ok := kuboMessage(err); ok {
		if strings.Contains(msg, "not pinned") {
			return nil
		}
		return &transientError{msg: fmt.Sprintf("unpinning %s: %s", id, msg)}
	}
	return err
}

// DigestMismatchError is the error of Verify when the bytes read back do not hash to the
// expected digest.
type DigestMismatchError struct {
	Got, Want common.Hash
}

func (e *DigestMismatchError) Error() string {
	return fmt.Sprintf("digest mismatch: got %s, want %s", e.Got.Hex(), e.Want.Hex())
}

// Verify reads the file c back from IPFS, streaming it through sha256, and compares the
// digest with want. It returns the file's size. A digest that differs is a
// *DigestMismatchError (inside an EINVALID *modeldao.Error); a CID that is not a file is
// EINVALID as well.
func Verify(ctx context.Context, api iface.CoreAPI, c string, want common.Hash) (int64, error) {
	id, err := cid.Decode(c)
	if err != nil {
		return 0, &permanentError{modeldao.WrapError(modeldao.EINVALID, err, "weights CID %q is not a CID", c)}
	}
	node, err := api.Unixfs().Get(ctx, path.FromCid(id))
	if err != nil {
		return 0, readErr(ctx, id, err)
	}
	defer node.Close()
	f, ok := node.(files.File)
	if !ok {
		return 0, &permanentError{modeldao.Errorf(modeldao.EINVALID, "weights CID %s is a directory, not a file: publish the weights file itself", id)}
	}
	h := sha256.New()
	n, err := io.CopyBuffer(h, f, make([]byte, 1<<20))
	if err != nil {
		return n, readErr(ctx, id, err)
	}
	if got := common.BytesToHash(h.Sum(nil)); got != want {
		mm := &DigestMismatchError{Got: got, Want: want}
		return n, &permanentError{modeldao.WrapError(modeldao.EINVALID, mm, "%s", mm.Error())}
	}
	return n, nil
}

func readErr(ctx context.Context, id cid.Cid, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if msg, ok := kuboMessage(err); ok {
		return &transientError{msg: fmt.Sprintf("reading %s back: %s", id, msg)}
	}
	if isTransport(err) {
		return modeldao.WrapError(modeldao.EUNAVAILABLE, err, "IPFS API did not answer while reading %s back: is the daemon running?", id)
	}
	return &transientError{msg: fmt.Sprintf("reading %s back: %v", id, err)}
}

// transientError is a failure that another attempt may cure (content not found yet, no
// progress, kubo refused for now).
type transientError struct{ msg string }

func (e *transientError) Error() string { return e.msg }
func (e *transientError) Unwrap() error { return modeldao.Errorf(modeldao.EUNAVAILABLE, "%s", e.msg) }

// permanentError is a failure that no retry cures (digest mismatch, not a file, bad CID).
type permanentError struct{ err *modeldao.Error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }
