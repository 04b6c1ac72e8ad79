package store

import (
	"context"
	"errors"

	"github.com/modeldao/modeldao"
)

// The read side: what the GraphQL API asks of the projection.
//
// Every list of the API is a sorted set of the layout (see Keys), paged by one generic
// helper (fetchList / fetchLists) with one cursor codec (EncodeCursor / decodeCursor):
//
//   - A cursor is the base64 of the list's name, the score and the member of the item it
//     points at. Paging continues strictly after (or before) that (score, member) position,
//     ties broken on the member as Redis orders them, so a cursor stays valid when the list
//     changes under it: new items land where they belong, removed items simply no longer
//     appear, and the cursor's own item may be gone without harm.
//   - An unfiltered list, or one filtered by a single index set that has the list's scores,
//     is paged inside Redis (pagesInRedis): a first page with ZCARD and ZRANGE, a page from
//     a cursor with one Lua script (pageScript) that finds the cursor's position with ZCOUNT
//     and a binary search over ties; then the page's records with one HMGET. Two round
//     trips. Nested lists of many owners (the votes of 100 proposals) are read the same way
//     in one pipeline and one HMGET: still two round trips.
//   - A list with several filters, or with filters that need the records (title contains,
//     created after, support, metric bounds), is filtered in Go: the candidate id sets are
//     read in one pipeline and intersected, their order scores come from one ZMSCORE, and the
//     records from one HMGET; the same cursor rules are then applied in Go (pageSorted). That
//     is at most three round trips, whatever the page size (metric bounds on audits add two:
//     every audit is read to find the versions that meet them). It reads every candidate, which
//     is fine for the cardinalities of a DAO (thousands of proposals and versions, not
//     millions); nothing is written, so the API can run against a read replica and never
//     leaves temporary keys behind (no ZINTERSTORE).
//   - The steward's filters on model versions (stale, contested) apply the root package's
//     rules to every candidate in memory (review.go): stale reads every APPROVED version with
//     its policy and audit, contested every audit with its policy and auditor; the list is
//     then filtered in Go (only / except) and paged with the same cursor rules.
//   - An ordering by amount (delegates by voting power, proposals by votes, votes by weight)
//     has members that carry the amount before the id (AmountMember, all scores 0): paged in
//     Redis the same way; filtered in Go by reading the ordering whole and keeping the ids in
//     every filter set.
//   - Records are JSON; decoded ones are cached by their raw JSON in the Store (readRecord),
//     as decoding is most of the CPU cost of a read.
//   - Records and pages read at a checkpoint are kept in memory until a commit moves it
//     (records.go): with the API's per-operation view, the round trips above are paid once
//     per checkpoint, and a request costs one GET of the checkpoint.
//
// Where the code lives: paging.go (PageArgs, Page, cursors, ordering in Go), pager.go (the
// lists, fetchList), pager_redis.go (the page script, pages in Redis), pager_filters.go
// (candidates of filtered lists, in Go), this file (read errors, HMGET helpers), decode.go (the decode cache), records.go
// (records and pages in memory per checkpoint, the request's view), and the
// reads by concern: read_governance.go (proposals, votes, accounts, delegation),
// read_registry.go (models, versions, audits, policies, auditors), read_dao.go (the DAO
// record, pins).

// readErr wraps an error of Redis met while reading.
func readErr(err error) error {
	if err == nil {
		return nil
	}
	var e *modeldao.Error
	if errors.As(err, &e) {
		return err
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return modeldao.WrapError(modeldao.EUNAVAILABLE, err, "the request ran out of time reading Redis: ask for fewer items")
	}
	return modeldao.WrapError(modeldao.EUNAVAILABLE, err, "Redis did not answer; retry later")
}

// live fails when the request's context is done: go-redis does not watch contexts unless
// told to (ContextTimeoutEnabled), so every read checks before its round trip.
func live(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return readErr(err)
	}
	return nil
}

// hmgetStrings reads fields of a hash, from memory or in one round trip (readFields);
// missing fields are "".
func (s *Store) hmgetStrings(ctx context.Context, hash string, fields []string) ([]string, error) {
	if len(fields) == 0 {
		return nil, nil
	}
	gs := []fieldGroup{{hash: hash, fields: fields}}
	if _, err := s.readFields(ctx, "", gs); err != nil {
		return nil, err
	}
	return gs[0].vals, nil
}

// readMany reads records by hash field, in one HMGET; nil where there is none.
func readMany[T any](ctx context.Context, s *Store, hash string, fields []string) ([]*T, error) {
	recs, err := s.hmgetStrings(ctx, hash, fields)
	if err != nil {
		return nil, err
	}
	return readRecords[T](s, recs, hash, func(i int) string { return fields[i] })
}

func decIDs(ids []uint64) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = decimal(id)
	}
	return out
}
