package graphql

import (
	"context"
	"time"

	"github.com/modeldao/modeldao"
)

// millis is a Unix-milliseconds time of the status record as a DateTime, null when unset.
func millis(ms int64) *time.Time {
	if ms == 0 {
		return nil
	}
	t := time.UnixMilli(ms).UTC()
	return &t
}

func (r indexerStatusResolver) HeadSeenAt(ctx context.Context, obj *modeldao.IndexerStatus) (*time.Time, error) {
	return millis(obj.HeadSeenAt), nil
}

func (r indexerStatusResolver) LastErrorAt(ctx context.Context, obj *modeldao.IndexerStatus) (*time.Time, error) {
	return millis(obj.LastErrorAt), nil
}
