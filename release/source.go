// Package release moves model releases between a directory on disk and IPFS, and proves
// them against the digest on chain. A release is either one file, whose sha256 is the
// registry's weightsSha256, or a UnixFS directory with modeldao.ManifestName at its root,
// whose canonical encoding's sha256 is the weightsSha256 (see modeldao.Manifest). Publish
// adds a directory to a kubo node; Inspect and Verify read a release back and check every
// file; Pull downloads one into a directory, resumably, writing each file atomically and a
// completion marker last.
//
// Reads go through a Source: a kubo RPC API (Kubo) or an HTTP gateway (Gateway), so that
// inference providers can pull from any public gateway and check everything locally; a
// Source is never trusted: blocks and bytes are verified against the chain-anchored digest.
package release

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/ipfs/boxo/ipld/merkledag"
	"github.com/ipfs/boxo/ipld/unixfs"
	"github.com/ipfs/go-cid"
	"github.com/ipfs/kubo/client/rpc"

	"github.com/modeldao/modeldao"
)

// Source reads content from IPFS.
type Source interface {
	// Open streams the file at p ("<cid>" or "<cid>/<path>") from byte offset on. A path
	// that does not exist is an ENOTFOUND error; an unreachable source EUNAVAILABLE.
	Open(ctx context.Context, p string, offset int64) (io.ReadCloser, error)
	// Block returns the raw bytes of the block c (at most maxBlock of them).
	Block(ctx context.Context, c cid.Cid) ([]byte, error)
	// String names the source in messages.
	String() string
}

// maxBlock bounds a root block read by Inspect (kubo's blocks are at most 2 MiB).
const maxBlock = 2 << 20

// Kubo is a Source over a kubo daemon's RPC API.
type Kubo struct {
	API  *rpc.HttpApi
	Addr string // for messages
}

func (k Kubo) String() string { return "the IPFS API at " + k.Addr }

// Open runs "cat" with an offset.
func (k Kubo) Open(ctx context.Context, p string, offset int64) (io.ReadCloser, error) {
	req := k.API.Request("cat", "/ipfs/"+p)
	if offset > 0 {
		req = req.Option("offset", offset)
	}
	resp, err := req.Send(ctx)
	if err != nil {
		return nil, k.err(ctx, p, err)
	}
	if resp.Error != nil {
		_ = resp.Close()
		return nil, k.err(ctx, p, resp.Error)
	}
	return resp.Output, nil
}

// Block runs "block/get".
func (k Kubo) Block(ctx context.Context, c cid.Cid) ([]byte, error) {
	resp, err := k.API.Request("block/get", c.String()).Send(ctx)
	if err != nil {
		return nil, k.err(ctx, c.String(), err)
	}
	if resp.Error != nil {
		_ = resp.Close()
		return nil, k.err(ctx, c.String(), resp.Error)
	}
	defer resp.Close()
	return readBounded(resp.Output, maxBlock, "block "+c.String())
}

func (k Kubo) err(ctx context.Context, p string, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var ce *rpc.Error
	if errors.As(err, &ce) {
		m := ce.Message
		if strings.Contains(m, "no link named") || strings.Contains(m, "not found") || strings.Contains(m, "no such file") {
			return modeldao.WrapError(modeldao.ENOTFOUND, err, "%s is not in IPFS: %s", p, m)
		}
		if strings.Contains(m, "not a file") || strings.Contains(m, "is a directory") || strings.Contains(m, "not a directory") {
			return modeldao.WrapError(modeldao.EINVALID, err, "%s: %s", p, m)
		}
		return modeldao.WrapError(modeldao.EUNAVAILABLE, err, "%s refused to read %s: %s", k, p, m)
	}
	return modeldao.WrapError(modeldao.EUNAVAILABLE, err, "%s did not answer while reading %s: is the daemon running?", k, p)
}

// Gateway is a Source over an IPFS HTTP gateway (trustless or not: everything read is
// verified). Base is the gateway's URL, e.g. http://127.0.0.1:8080 or https://ipfs.io.
type Gateway struct {
	Base   string
	Client *http.Client // nil: http.DefaultClient
}

func (g Gateway) String() string { return "the IPFS gateway at " + g.Base }

func (g Gateway) client() *http.Client {
	if g.Client != nil {
		return g.Client
	}
	return http.DefaultClient
}

// url returns the gateway URL of p, each path segment escaped.
func (g Gateway) url(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.TrimRight(g.Base, "/") + "/ipfs/" + strings.Join(segs, "/")
}

// Open sends a GET with a Range header; a gateway that ignores it (200) is skipped ahead.
func (g Gateway) Open(ctx context.Context, p string, offset int64) (io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.url(p), nil)
	if err != nil {
		return nil, modeldao.WrapError(modeldao.EINVALID, err, "gateway URL %q", g.Base)
	}
	if offset > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(offset, 10)+"-")
	}
	resp, err := g.client().Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, modeldao.WrapError(modeldao.EUNAVAILABLE, err, "%s did not answer for %s", g, p)
	}
	switch {
	case resp.StatusCode == http.StatusPartialContent && offset > 0:
		return resp.Body, nil
	case resp.StatusCode == http.StatusOK:
		if offset > 0 {
			if _, err := io.CopyN(io.Discard, resp.Body, offset); err != nil {
				resp.Body.Close()
				return nil, modeldao.WrapError(modeldao.EUNAVAILABLE, err, "%s ignored the range request for %s and the body ended early", g, p)
			}
		}
		return resp.Body, nil
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return nil, modeldao.Errorf(modeldao.ENOTFOUND, "%s is not in IPFS (%s answered 404: %s)", p, g, strings.TrimSpace(string(msg)))
	}
	return nil, modeldao.Errorf(modeldao.EUNAVAILABLE, "%s answered %s for %s: %s", g, resp.Status, p, strings.TrimSpace(string(msg)))
}

// Block fetches the raw block (?format=raw, the trustless gateway's block response).
func (g Gateway) Block(ctx context.Context, c cid.Cid) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.url(c.String())+"?format=raw", nil)
	if err != nil {
		return nil, modeldao.WrapError(modeldao.EINVALID, err, "gateway URL %q", g.Base)
	}
	req.Header.Set("Accept", "application/vnd.ipld.raw")
	resp, err := g.client().Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, modeldao.WrapError(modeldao.EUNAVAILABLE, err, "%s did not answer for block %s", g, c)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		code := modeldao.EUNAVAILABLE
		if resp.StatusCode == http.StatusNotFound {
			code = modeldao.ENOTFOUND
		}
		return nil, modeldao.Errorf(code, "%s answered %s for block %s", g, resp.Status, c)
	}
	return readBounded(resp.Body, maxBlock, "block "+c.String())
}

func readBounded(r io.Reader, limit int64, what string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, modeldao.WrapError(modeldao.EUNAVAILABLE, err, "reading %s", what)
	}
	if int64(len(b)) > limit {
		return nil, modeldao.Errorf(modeldao.EINVALID, "%s is larger than %d bytes", what, limit)
	}
	return b, nil
}

// Kind is what a release's root CID resolves to.
type Kind int

const (
	KindFile      Kind = iota + 1 // a single weights file: the digest is its sha256
	KindDirectory                 // a release directory: the digest is its manifest's
)

func (k Kind) String() string {
	switch k {
	case KindFile:
		return "file"
	case KindDirectory:
		return "directory"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Inspect tells whether root is a file or a directory, from its root block alone (checked
// against the CID, so a lying gateway cannot pass a file off as a directory).
func Inspect(ctx context.Context, src Source, root string) (Kind, error) {
	c, err := cid.Decode(root)
	if err != nil {
		return 0, modeldao.WrapError(modeldao.EINVALID, err, "weights CID %q is not a CID", root)
	}
	if c.Type() == cid.Raw {
		return KindFile, nil
	}
	if c.Type() != cid.DagProtobuf {
		return 0, modeldao.Errorf(modeldao.EINVALID, "weights CID %s has codec 0x%x: want a UnixFS file or directory (dag-pb or raw)", c, c.Type())
	}
	b, err := src.Block(ctx, c)
	if err != nil {
		return 0, err
	}
	if got, err := c.Prefix().Sum(b); err != nil || !got.Equals(c) {
		return 0, modeldao.Errorf(modeldao.EINVALID, "%s sent a block that does not hash to %s", src, c)
	}
	nd, err := merkledag.DecodeProtobuf(b)
	if err != nil {
		return 0, modeldao.WrapError(modeldao.EINVALID, err, "weights CID %s is not a UnixFS node", c)
	}
	fs, err := unixfs.FSNodeFromBytes(nd.Data())
	if err != nil {
		return 0, modeldao.WrapError(modeldao.EINVALID, err, "weights CID %s is not a UnixFS node", c)
	}
	switch fs.Type() {
	case unixfs.TFile, unixfs.TRaw:
		return KindFile, nil
	case unixfs.TDirectory, unixfs.THAMTShard:
		return KindDirectory, nil
	}
	return 0, modeldao.Errorf(modeldao.EINVALID, "weights CID %s is a UnixFS %s, neither a file nor a directory", c, fs.Type())
}
