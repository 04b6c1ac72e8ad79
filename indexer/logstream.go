package indexer

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"

	"github.com/ethereum/go-ethereum/core/types"
)

// logStream decodes a JSON-RPC answer of eth_getLogs from a reader, one log at a time, with
// logScanner over a buffer that holds the part being read: the answer is read once, and
// never held whole (a batch's answers were tens of MiB).
type logStream struct {
	r   io.Reader
	buf []byte
	s   logScanner // s.b is the read part of buf
	eof bool       // r has no more
	err error      // r failed
}

// fill keeps the unread input (from s.i on), moved to the front of the buffer, and reads
// more after it, growing the buffer when the unread input fills it. It returns false when
// nothing more can be read.
func (st *logStream) fill() bool {
	if st.eof || st.err != nil {
		return false
	}
	n := copy(st.buf, st.s.b[st.s.i:])
	if n == len(st.buf) {
		if len(st.buf) >= maxStreamBuffer {
			return false
		}
		grown := make([]byte, 2*len(st.buf))
		copy(grown, st.buf[:n])
		st.buf = grown
	}
	m, err := io.ReadFull(st.r, st.buf[n:])
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		st.eof = true
	case err != nil:
		st.err = err
	}
	st.s.b, st.s.i = st.buf[:n+m], 0
	return m > 0
}

// try runs one step of the scanner (a value, or a separator), reading more input and
// running it again from where it started as long as it fails for lack of input.
func (st *logStream) try(step func() bool) bool {
	for {
		start := st.s.i
		st.s.ok, st.s.short = true, false
		if step() && st.s.ok {
			return true
		}
		if !st.s.short {
			return false
		}
		st.s.i = start
		if !st.fill() {
			return false
		}
	}
}

// unusual is the error of an answer the stream does not handle, or the reader's error when
// that is why it stopped (a broken connection is an RPC error, retried as such).
func (st *logStream) unusual() error {
	if st.err != nil {
		return st.err
	}
	return errUnusualAnswer
}

// answer reads the response to the request with this id: the logs of its result, or its
// error (*rpcError).
func (st *logStream) answer(id uint64) ([]types.Log, error) {
	s := &st.s
	if !st.try(func() bool { s.expect('{'); return true }) {
		return nil, st.unusual()
	}
	var (
		logs             []types.Log
		haveResult, idOK bool
	)
	want := strconv.AppendUint(nil, id, 10)
	for {
		const (
			keyOther = iota
			keyID
			keyResult
			keyError
		)
		var key int
		if !st.try(func() bool {
			k := s.str()
			s.expect(':')
			switch string(k) {
			case "id":
				key = keyID
			case "result":
				key = keyResult
			case "error":
				key = keyError
			default:
				key = keyOther // "jsonrpc", or a field of a node's own
			}
			return true
		}) {
			return nil, st.unusual()
		}
		switch key {
		case keyID:
			if !st.try(func() bool {
				s.ws()
				start := s.i
				if !s.skipScalar() {
					return false
				}
				idOK = bytes.Equal(s.b[start:s.i], want)
				return true
			}) || !idOK {
				return nil, st.unusual()
			}
		case keyResult:
			if haveResult {
				return nil, st.unusual()
			}
			haveResult = true
			var ok bool
			if logs, ok = st.result(); !ok {
				return nil, st.unusual()
			}
		case keyError:
			// A node's refusal (a range too large…): small, decoded by encoding/json.
			var e rpcError
			if err := json.NewDecoder(io.MultiReader(bytes.NewReader(s.b[s.i:]), st.r)).Decode(&e); err != nil {
				return nil, st.unusual()
			}
			return nil, &e
		default:
			if !st.try(s.skipScalar) {
				return nil, st.unusual()
			}
		}
		var end bool
		if !st.try(func() bool {
			switch s.next() {
			case ',':
				s.i++
			case '}':
				s.i++
				end = true
			default:
				return false
			}
			return true
		}) {
			return nil, st.unusual()
		}
		if end {
			break
		}
	}
	// Nothing but whitespace may follow.
	for {
		s.ws()
		if s.i < len(s.b) {
			return nil, st.unusual()
		}
		if !st.fill() {
			break
		}
	}
	if st.err != nil {
		return nil, st.err
	}
	if !haveResult || !idOK {
		return nil, errUnusualAnswer
	}
	return logs, nil
}

// result reads the result array, one log at a time.
func (st *logStream) result() ([]types.Log, bool) {
	s := &st.s
	if !st.try(func() bool { s.expect('['); return true }) {
		return nil, false // null, or anything but an array
	}
	logs := []types.Log{}
	var end bool
	if !st.try(func() bool {
		if s.next() == ']' {
			s.i++
			end = true
		}
		return true
	}) {
		return nil, false
	}
	for !end {
		var l types.Log
		if !st.try(func() bool { l = types.Log{}; return s.log(&l) }) {
			return nil, false
		}
		logs = append(logs, l)
		if !st.try(func() bool {
			switch s.next() {
			case ',':
				s.i++
			case ']':
				s.i++
				end = true
			default:
				return false
			}
			return true
		}) {
			return nil, false
		}
	}
	return logs, true
}
