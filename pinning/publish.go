package pinning

import (
	"context"
	"crypto/sha256"
	"io"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ipfs/boxo/files"
	iface "github.com/ipfs/kubo/core/coreiface"
	"github.com/ipfs/kubo/core/coreiface/options"

	"github.com/modeldao/modeldao"
)

// progressEvery is how many bytes AddWeights reads between two progress reports (it also
// reports at least every progressPeriod while reading).
const (
	progressEvery  = 4 << 20
	progressPeriod = 500 * time.Millisecond
)

// AddWeights adds the weights file read from r to IPFS as a CIDv1 (raw leaves, the default
// chunker), pinned, and returns its CID, the sha256 of its bytes and its size. The file is
// streamed to the daemon, never held in memory, and its sha256 is computed in the same pass.
// progress, if not nil, is called with the number of bytes sent so far, every few MB, and a
// last time with the total once the daemon has confirmed the add.
func AddWeights(ctx context.Context, api iface.CoreAPI, r io.Reader, progress func(bytes int64)) (string, common.Hash, int64, error) {
	h := sha256.New()
	cr := &countingReader{r: io.TeeReader(r, h), progress: progress}
	p, err := api.Unixfs().Add(ctx, files.NewReaderFile(cr),
		options.Unixfs.CidVersion(1),
		options.Unixfs.Pin(true, ""),
	)
	if err != nil {
		if ctx.Err() != nil {
			return "", common.Hash{}, cr.n, ctx.Err()
		}
		if cr.readErr != nil {
			return "", common.Hash{}, cr.n, modeldao.WrapError(modeldao.EINVALID, cr.readErr, "reading the weights file after %d bytes", cr.n)
		}
		if _, ok := kuboMessage(err); ok {
			return "", common.Hash{}, cr.n, modeldao.WrapError(modeldao.EUNAVAILABLE, err, "IPFS refused to add the weights file")
		}
		return "", common.Hash{}, cr.n, modeldao.WrapError(modeldao.EUNAVAILABLE, err, "IPFS API did not answer while adding the weights file: is the daemon running?")
	}
	if progress != nil {
		progress(cr.n)
	}
	return p.RootCid().String(), common.BytesToHash(h.Sum(nil)), cr.n, nil
}

// countingReader counts the bytes read and reports progress.
type countingReader struct {
	r        io.Reader
	n        int64
	reported int64
	at       time.Time
	progress func(int64)
	readErr  error
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err != nil && err != io.EOF {
		c.readErr = err
	}
	if c.progress != nil && n > 0 && (c.n-c.reported >= progressEvery || time.Since(c.at) >= progressPeriod) {
		c.reported, c.at = c.n, time.Now()
		c.progress(c.n)
	}
	return n, err
}
