package pinning

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/release"
)

// pinAndVerify pins id under the version's name on every node at once and checks what it
// pinned against the digest on chain, on one node that pinned it (the same CID is the same
// bytes on every node). A single file (the CID resolves to a UnixFS file) is read back and
// its sha256 compared with the digest. A release directory has its manifest checked against
// the digest, then every file it lists read back (size and sha256, streamed through kubo
// cat) and its safetensors header summarized: the summary is returned for the store. It
// returns the result of each node's pin (nil when the error came before any), and an error
// when no node pinned, or the content failed verification (*permanentError), or no node
// that pinned could read it back.
func (c *Consumer) pinAndVerify(ctx context.Context, id cid.Cid, v *modeldao.ModelVersion, log *slog.Logger) (int64, *modeldao.ReleaseSummary, []nodeResult, error) {
	rs := c.onNodes(ctx, c.nodes, func(ctx context.Context, n *Client) error {
		var lastLog time.Time
		_, err := n.pinAdd(ctx, id, modeldao.PinName(v.ID), c.cfg.InactivityTimeout, func(p pinProgress) {
			if time.Since(lastLog) >= 5*time.Second {
				lastLog = time.Now()
				log.Info("pin progress", "node", n.Addr, "blocks", p.Blocks, "bytes", p.Bytes)
			}
		})
		return err
	})
	held := succeeded(rs)
	if len(held) == 0 {
		return 0, nil, rs, failure(ctx, rs)
	}
	var err error
	for _, n := range held {
		var size int64
		var sum *modeldao.ReleaseSummary
		size, sum, err = c.verifyOn(ctx, n, id, v, log)
		if err = c.classifyOn(ctx, n, err); err == nil {
			return size, sum, rs, nil
		}
		if !isOutage(err) {
			return 0, nil, rs, err
		}
		// The node went away after pinning: verify on the next one, and count this one
		// as not holding the pin.
		for i := range rs {
			if rs[i].node == n {
				rs[i].err = err
			}
		}
	}
	return 0, nil, rs, err
}

// verifyOn reads the pinned content back from node n and checks it (see pinAndVerify).
func (c *Consumer) verifyOn(ctx context.Context, n *Client, id cid.Cid, v *modeldao.ModelVersion, log *slog.Logger) (int64, *modeldao.ReleaseSummary, error) {
	src := release.Kubo{API: n.HttpApi, Addr: n.Addr}
	kind, err := release.Inspect(ctx, src, id.String())
	if err != nil {
		return 0, nil, releaseErr(err)
	}
	if kind == release.KindFile {
		n, err := Verify(ctx, n, string(v.WeightsCID), v.WeightsSHA256)
		return n, nil, err
	}
	sum, err := release.Verify(ctx, src, id.String(), v.WeightsSHA256, nil)
	if err != nil {
		return 0, nil, releaseErr(err)
	}
	sum.VersionID = v.ID
	log.Info("release verified", "node", n.Addr, "files", len(sum.Files), "bytes", sum.TotalSize, "tensors", sum.TensorCount, "parameters", sum.ParameterCount)
	return sum.TotalSize, sum, nil
}

// releaseErr sorts an error of package release: content that breaks the manifest or the
// digest is permanent, a refusal of kubo transient; others (transport) go to classify,
// which tells an outage from a broken connection.
func releaseErr(err error) error {
	var me *modeldao.Error
	if !errors.As(err, &me) {
		return err
	}
	switch {
	case me.Code == modeldao.EINVALID:
		return &permanentError{me}
	case me.Code == modeldao.ENOTFOUND:
		return &transientError{msg: me.Message}
	}
	if _, ok := kuboMessage(err); ok {
		return &transientError{msg: me.Message}
	}
	return err
}
