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

// pinAndVerify pins id under the version's name and checks what it pinned against the
// digest on chain. A single file (the CID resolves to a UnixFS file) is read back and its
// sha256 compared with the digest. A release directory has its manifest checked against the
// digest, then every file it lists read back (size and sha256, streamed through kubo cat)
// and its safetensors header summarized: the summary is returned for the store.
func (c *Consumer) pinAndVerify(ctx context.Context, id cid.Cid, v *modeldao.ModelVersion, log *slog.Logger) (int64, *modeldao.ReleaseSummary, error) {
	var lastLog time.Time
	_, err := c.ipfs.pinAdd(ctx, id, modeldao.PinName(v.ID), c.cfg.InactivityTimeout, func(p pinProgress) {
		if time.Since(lastLog) >= 5*time.Second {
			lastLog = time.Now()
			log.Info("pin progress", "blocks", p.Blocks, "bytes", p.Bytes)
		}
	})
	if err != nil {
		return 0, nil, err
	}
	src := release.Kubo{API: c.ipfs.HttpApi, Addr: c.ipfs.Addr}
	kind, err := release.Inspect(ctx, src, id.String())
	if err != nil {
		return 0, nil, releaseErr(err)
	}
	if kind == release.KindFile {
		n, err := Verify(ctx, c.ipfs, string(v.WeightsCID), v.WeightsSHA256)
		return n, nil, err
	}
	sum, err := release.Verify(ctx, src, id.String(), v.WeightsSHA256, nil)
	if err != nil {
		return 0, nil, releaseErr(err)
	}
	sum.VersionID = v.ID
	log.Info("release verified", "files", len(sum.Files), "bytes", sum.TotalSize, "tensors", sum.TensorCount, "parameters", sum.ParameterCount)
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
