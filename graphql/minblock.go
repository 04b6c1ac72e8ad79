package graphql

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/modeldao/modeldao/store"
)

// Read-after-write. A client that has just sent a transaction (a vote) knows its block; it
// asks for an answer from an index that has reached that block with either
//
//	the header   X-ModelDAO-Min-Block: 12345
//	the request  {"query": …, "extensions": {"minBlock": 12345}}  (GET: extensions={"minBlock":12345})
//
// The API waits up to MinBlockWait for the indexer to get there, then answers as usual, or
// answers 503 with one error, code UNAVAILABLE, whose extensions hold minBlock and
// indexedBlock (Retry-After: 1). A header or request extension rather than a directive or an
// argument of every root field: it needs no change to the schema and so no client code
// generation, works the same for every operation (and for persisted queries), and is decided
// before the response cache, which could otherwise answer from an older checkpoint.

// HeaderMinBlock is the request header of the minimum block.
const HeaderMinBlock = "X-ModelDAO-Min-Block"

// minBlockOf returns the minimum block a request asks for (0: none).
func minBlockOf(r *http.Request, body []byte) (uint64, *gqlerror.Error) {
	var n uint64
	if h := strings.TrimSpace(r.Header.Get(HeaderMinBlock)); h != "" {
		v, err := strconv.ParseUint(h, 10, 64)
		if err != nil {
			return 0, requestError(CodeBadRequest, "%s: %q is not a block number: send a whole number such as 12345", HeaderMinBlock, h)
		}
		n = v
	}
	var ext []byte
	if r.Method == http.MethodGet {
		ext = []byte(r.URL.Query().Get("extensions"))
	} else if len(body) > 0 {
		var probe struct {
			Extensions json.RawMessage `json:"extensions"`
		}
		if json.Unmarshal(body, &probe) == nil {
			ext = probe.Extensions
		}
	}
	if len(ext) > 0 && string(ext) != "null" {
		var e struct {
			MinBlock *json.Number `json:"minBlock"`
		}
		if err := json.Unmarshal(ext, &e); err != nil {
			return 0, requestError(CodeBadRequest, "extensions must be a JSON object such as {\"minBlock\": 12345}: %s", jsonProblem(err))
		}
		if e.MinBlock != nil {
			v, err := strconv.ParseUint(e.MinBlock.String(), 10, 64)
			if err != nil {
				return 0, requestError(CodeBadRequest, "extensions.minBlock: %s is not a block number: send a whole number such as 12345", e.MinBlock)
			}
			n = max(n, v)
		}
	}
	return n, nil
}

// waitForBlock waits, up to wait, until the index's checkpoint is at or past block; it
// returns the indexed block and whether it got there.
func waitForBlock(ctx context.Context, st *store.Store, block uint64, wait time.Duration) (uint64, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var indexed uint64
	for {
		cp, ok, err := st.Checkpoint(ctx)
		if err != nil && ctx.Err() == nil {
			return 0, false, err
		}
		if ok {
			indexed = cp.Number
		}
		if ok && cp.Number >= block {
			return indexed, true, nil
		}
		select {
		case <-ctx.Done():
			return indexed, false, nil
		case <-tick.C:
		}
	}
}

// checkMinBlock answers the request itself (and returns false) when it asks for a block the
// index does not reach in time.
func checkMinBlock(w http.ResponseWriter, r *http.Request, body []byte, st *store.Store, wait time.Duration) bool {
	block, gerr := minBlockOf(r, body)
	if gerr != nil {
		writeError(w, http.StatusBadRequest, gerr)
		return false
	}
	if block == 0 {
		return true
	}
	indexed, ok, err := waitForBlock(r.Context(), st, block, wait)
	if ok {
		return true
	}
	e := requestError(CodeUnavailable, "the index has reached block %d, not yet block %d: retry in a moment", indexed, block)
	if err != nil {
		e = requestError(CodeUnavailable, "the index cannot be read now: retry in a moment")
	}
	if e.Extensions == nil {
		e.Extensions = map[string]any{}
	}
	e.Extensions["minBlock"] = block
	e.Extensions["indexedBlock"] = indexed
	w.Header().Set("Retry-After", "1")
	writeError(w, http.StatusServiceUnavailable, e)
	return false
}
