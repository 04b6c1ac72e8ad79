package store

import (
	"context"
	"encoding/json"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/modeldao/modeldao"
)

// Release summaries: what the pinner learnt of a version's content once it verified it
// against the digest on chain (files with path, size, sha256 and CID; safetensors formats).
// The pinner writes them (never the indexer), so they stay out of the digest; the API reads
// them. One hash field per version, JSON modeldao.ReleaseSummary.

// AckPinJobWithRelease is AckPinJob that also writes the version's release summary, in the
// same MULTI/EXEC as the pin record: a PINNED record and its summary appear together.
func (s *Store) AckPinJobWithRelease(ctx context.Context, id string, pin *modeldao.Pin, rel *modeldao.ReleaseSummary) error {
	raw, err := json.Marshal(rel)
	if err != nil {
		return modeldao.WrapError(modeldao.EINTERNAL, err, "encoding the release summary of version %d", rel.VersionID)
	}
	_, err = s.rdb.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		pipe.HSet(ctx, s.keys.Release(), strconv.FormatUint(rel.VersionID, 10), raw)
		if pin != nil {
			if err := s.setPin(ctx, pipe, *pin); err != nil {
				return err
			}
		}
		pipe.XAck(ctx, s.keys.PinJobs(), PinGroup, id)
		pipe.XDel(ctx, s.keys.PinJobs(), id)
		return nil
	})
	return pinRedisErr(err, "acking pin job %s with the release summary of version %d", id, rel.VersionID)
}

// GetRelease returns the release summary of version id, or nil if the pinner has not
// verified it (yet).
func (s *Store) GetRelease(ctx context.Context, id uint64) (*modeldao.ReleaseSummary, error) {
	return pinnerRecord[modeldao.ReleaseSummary](ctx, s, s.keys.Release(), id, "release summary")
}

// Releases returns the release summaries of the versions ids, in the same order, nil where
// the pinner has verified none.
func (s *Store) Releases(ctx context.Context, ids []uint64) ([]*modeldao.ReleaseSummary, error) {
	return readMany[modeldao.ReleaseSummary](ctx, s, s.keys.Release(), decIDs(ids))
}

// SetRelease writes a release summary alone (tests, repairs); the pinner writes it with
// the pin record through AckPinJobWithRelease.
func (s *Store) SetRelease(ctx context.Context, rel modeldao.ReleaseSummary) error {
	raw, err := json.Marshal(rel)
	if err != nil {
		return modeldao.WrapError(modeldao.EINTERNAL, err, "encoding the release summary of version %d", rel.VersionID)
	}
	return pinRedisErr(s.rdb.HSet(ctx, s.keys.Release(), strconv.FormatUint(rel.VersionID, 10), raw).Err(),
		"writing the release summary of version %d", rel.VersionID)
}
