package graphql

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"

	gql "github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/transport"
)

// jsonPOST is gqlgen's POST transport with a cheaper way to write an answer. gqlgen writes
// the response with json.Marshal, which validates and compacts the already compact data
// again, byte by byte (17 % of the CPU of a page of 50 model versions). jsonPOST writes
// {"data":…} around the data as it is when the answer has nothing else and its data has no
// character that json.Marshal would escape (<, >, &, U+2028, U+2029), so the bytes are the
// same as gqlgen's. Everything else (a body that does not decode, an operation that does not
// validate, an Accept header asking for another type, an answer with errors) goes to
// transport.POST unchanged.
type jsonPOST struct{ transport.POST }

func (t jsonPOST) Do(w http.ResponseWriter, r *http.Request, exec gql.GraphExecutor) {
	if !acceptsJSON(r.Header.Get("Accept")) {
		t.POST.Do(w, r, exec)
		return
	}
	body, err := io.ReadAll(r.Body)
	// From here on, POST gets the body again (as read) when it is the one to answer.
	again := func() {
		r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), errReader{err}))
		t.POST.Do(w, r, exec)
	}
	if err != nil {
		again()
		return
	}
	params := &gql.RawParams{}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(params); err != nil {
		again()
		return
	}
	ctx := r.Context()
	start := gql.Now()
	params.Headers = r.Header
	params.ReadTime = gql.TraceTiming{Start: start, End: start}
	rc, opErr := exec.CreateOperationContext(ctx, params)
	if opErr != nil {
		again()
		return
	}
	w.Header().Add("Content-Type", "application/json")
	responses, ctx := exec.DispatchOperation(ctx, rc)
	resp := responses(ctx)
	if resp != nil && len(resp.Errors) == 0 && resp.Label == "" && resp.Path == nil && resp.HasNext == nil &&
		len(resp.Extensions) == 0 && len(resp.Data) > 0 && !needsEscape(resp.Data) {
		writeData(w, resp.Data)
		return
	}
	b, err := json.Marshal(resp)
	if err != nil {
		panic(err) // as gqlgen's writeJson: the executor's own output always marshals
	}
	_, _ = w.Write(b)
}

// writeData writes {"data":data} in one Write with its length. Written in three, with no
// length, an answer of tens of KB went out chunked in three write syscalls (the head and the
// first chunks, the rest, the last chunk and the end at the handler's return) where one
// Write of a known length takes two (writing the answer was 11 % of a computed page's CPU).
func writeData(w http.ResponseWriter, data []byte) {
	bp := answerBufs.Get().(*[]byte)
	b := append(append(append((*bp)[:0], `{"data":`...), data...), '}')
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	_, _ = w.Write(b)
	if cap(b) <= maxPooledAnswer {
		*bp = b
		answerBufs.Put(bp)
	}
}

var answerBufs = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledAnswer keeps a rare huge answer from pinning its memory in the pool.
const maxPooledAnswer = 1 << 20

// acceptsJSON says whether POST would answer application/json for this Accept header.
func acceptsJSON(accept string) bool {
	if accept == "" {
		return true
	}
	for part := range strings.SplitSeq(accept, ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch mt {
		case "*/*", "application/*", "application/json":
			return true
		case "application/graphql-response+json":
			return false
		}
	}
	return false
}

// needsEscape reports whether json.Marshal would write data differently: it escapes <, >
// and & and the line separators U+2028 and U+2029 (E2 80 A8, E2 80 A9) inside strings.
// One vectorized bytes.IndexByte pass per byte looked for: bytes.IndexAny tests each byte
// against a set (5 % of the CPU of a computed page, whose answer is tens of KB).
func needsEscape(data []byte) bool {
	return bytes.IndexByte(data, '<') >= 0 || bytes.IndexByte(data, '>') >= 0 || bytes.IndexByte(data, '&') >= 0 ||
		bytes.Contains(data, []byte("\xe2\x80\xa8")) || bytes.Contains(data, []byte("\xe2\x80\xa9"))
}

// errReader fails with err after the body, so that POST sees the same read error; nil err
// is a plain end.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	return 0, io.EOF
}
