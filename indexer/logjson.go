package indexer

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/ethclient"
)

// filterLogs is Chain.FilterLogs for a range query. When the chain client is a plain
// *ethclient.Client (what the commands and the Lambda use; not a wrapper, whose own
// FilterLogs must run), it reads the answer as raw JSON and decodes it with decodeLogs,
// which costs a fraction of encoding/json's reflection over types.Log (the largest share
// of the indexer's CPU in a backfill, see BENCHMARKS.md).
func filterLogs(ctx context.Context, c Chain, q ethereum.FilterQuery) ([]types.Log, error) {
	ec, ok := c.(*ethclient.Client)
	if !ok || q.BlockHash != nil || q.FromBlock == nil || q.ToBlock == nil {
		return c.FilterLogs(ctx, q)
	}
	rc := ec.Client()
	arg := map[string]any{
		"fromBlock": hexutil.EncodeBig(q.FromBlock),
		"toBlock":   hexutil.EncodeBig(q.ToBlock),
	}
	if len(q.Addresses) > 0 {
		arg["address"] = q.Addresses
	}
	var ans logsAnswer
	if err := rc.CallContext(ctx, &ans, "eth_getLogs", arg); err != nil {
		return nil, err
	}
	return ans.logs, nil
}

// logsAnswer decodes an eth_getLogs result in place: encoding/json hands UnmarshalJSON a
// slice of the answer it holds, where a json.RawMessage result would be one more copy of
// the whole answer (tens of MiB for a batch), alive while the commit of the previous batch
// runs (the read ahead): part of the indexer's peak memory.
type logsAnswer struct{ logs []types.Log }

func (a *logsAnswer) UnmarshalJSON(b []byte) error {
	logs, err := decodeLogs(b)
	a.logs = logs
	return err
}

// decodeLogs decodes a JSON array of logs exactly as []types.Log's UnmarshalJSON does.
// Answers it does not expect (escapes, unknown fields with structured values, missing or
// malformed fields) go to encoding/json, so errors and edge cases stay go-ethereum's.
func decodeLogs(b []byte) ([]types.Log, error) {
	if logs, ok := fastLogs(b); ok {
		return logs, nil
	}
	var logs []types.Log
	err := json.Unmarshal(b, &logs)
	return logs, err
}

// logScanner reads the JSON of an eth_getLogs answer; ok turns false at the first thing it
// does not handle. short says that it got there by running out of input: a stream reader
// (logStream) then reads more and tries again.
type logScanner struct {
	b     []byte
	i     int
	ok    bool
	short bool
}

func (s *logScanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// next skips whitespace and returns the next byte without consuming it (0 at the end).
func (s *logScanner) next() byte {
	s.ws()
	if s.i >= len(s.b) {
		s.ok, s.short = false, true
		return 0
	}
	return s.b[s.i]
}

func (s *logScanner) expect(c byte) {
	if s.next() != c {
		s.ok = false
		return
	}
	s.i++
}

// str reads a string without escapes and returns its bytes (a slice of the input).
func (s *logScanner) str() []byte {
	s.expect('"')
	if !s.ok {
		return nil
	}
	start := s.i
	for s.i < len(s.b) {
		switch c := s.b[s.i]; {
		case c == '"':
			s.i++
			return s.b[start : s.i-1]
		case c == '\\' || c < 0x20:
			s.ok = false
			return nil
		}
		s.i++
	}
	s.ok, s.short = false, true
	return nil
}

func (s *logScanner) literal(lit string) bool {
	s.ws()
	if len(s.b)-s.i >= len(lit) && string(s.b[s.i:s.i+len(lit)]) == lit {
		s.i += len(lit)
		return true
	}
	if len(s.b)-s.i < len(lit) && strings.HasPrefix(lit, string(s.b[s.i:])) {
		s.short = true // the input may go on with the rest of lit
	}
	return false
}

func hexDigits(v []byte) ([]byte, bool) {
	if len(v) < 2 || v[0] != '0' || (v[1] != 'x' && v[1] != 'X') {
		return nil, false
	}
	return v[2:], true
}

func nibble(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// fixed decodes "0x" and exactly 2*len(dst) hex digits.
func fixed(v []byte, dst []byte) bool {
	d, ok := hexDigits(v)
	return ok && len(d) == 2*len(dst) && unhex(d, dst)
}

// unhex decodes the 2*len(dst) hex digits d into dst.
func unhex(d []byte, dst []byte) bool {
	for i := range dst {
		hi, ok1 := nibble(d[2*i])
		lo, ok2 := nibble(d[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}

// quantity decodes a hexutil.Uint64: "0x0" or "0x" and up to 16 digits without leading zero.
func quantity(v []byte) (uint64, bool) {
	d, ok := hexDigits(v)
	if !ok || len(d) == 0 || len(d) > 16 || len(d) > 1 && d[0] == '0' {
		return 0, false
	}
	var n uint64
	for _, c := range d {
		x, ok := nibble(c)
		if !ok {
			return 0, false
		}
		n = n<<4 | uint64(x)
	}
	return n, true
}

func fastLogs(b []byte) ([]types.Log, bool) {
	s := &logScanner{b: b, ok: true}
	if s.literal("null") {
		s.ws()
		return nil, s.i == len(b)
	}
	s.expect('[')
	logs := []types.Log{}
	if s.next() == ']' {
		s.i++
	} else {
		for s.ok {
			var l types.Log
			if !s.log(&l) {
				return nil, false
			}
			logs = append(logs, l)
			if s.next() == ',' {
				s.i++
				continue
			}
			s.expect(']')
			break
		}
	}
	s.ws()
	return logs, s.ok && s.i == len(b)
}

// log reads one log object into l; false when the object is not one it handles.
func (s *logScanner) log(l *types.Log) bool {
	s.expect('{')
	var have struct{ address, topics, data, tx bool }
	if s.next() == '}' {
		return false // required fields missing
	}
	for s.ok {
		key := s.str()
		s.expect(':')
		if !s.ok {
			return false
		}
		if s.literal("null") {
			// encoding/json leaves a field at null alone; required ones then fail there.
			switch string(key) {
			case "address", "topics", "data", "transactionHash":
				return false
			}
		} else {
			switch string(key) {
			case "address":
				have.address = fixed(s.str(), l.Address[:])
				if !have.address {
					return false
				}
			case "topics":
				if !s.topics(l) {
					return false
				}
				have.topics = true
			case "data":
				d, ok := hexDigits(s.str())
				if !ok || len(d)%2 != 0 {
					return false
				}
				l.Data = make([]byte, len(d)/2)
				if !unhex(d, l.Data) {
					return false
				}
				have.data = true
			case "blockNumber", "blockTimestamp", "transactionIndex", "logIndex":
				n, ok := quantity(s.str())
				if !ok {
					return false
				}
				switch string(key) {
				case "blockNumber":
					l.BlockNumber = n
				case "blockTimestamp":
					l.BlockTimestamp = n
				case "transactionIndex":
					if n > uint64(^uint(0)) {
						return false
					}
					l.TxIndex = uint(n)
				default:
					if n > uint64(^uint(0)) {
						return false
					}
					l.Index = uint(n)
				}
			case "transactionHash":
				if have.tx = fixed(s.str(), l.TxHash[:]); !have.tx {
					return false
				}
			case "blockHash":
				if !fixed(s.str(), l.BlockHash[:]) {
					return false
				}
			case "removed":
				switch {
				case s.literal("true"):
					l.Removed = true
				case s.literal("false"):
					l.Removed = false
				default:
					return false
				}
			default:
				// A field types.Log does not have: skip a string, number or literal value;
				// anything structured, or a key encoding/json would match case-insensitively,
				// goes to encoding/json.
				for _, k := range logKeys {
					if strings.EqualFold(k, string(key)) {
						return false
					}
				}
				if !s.skipScalar() {
					return false
				}
			}
		}
		if !s.ok {
			return false
		}
		if s.next() == ',' {
			s.i++
			continue
		}
		s.expect('}')
		break
	}
	return s.ok && have.address && have.topics && have.data && have.tx
}

// logKeys are the JSON keys of types.Log.
var logKeys = []string{"address", "topics", "data", "blockNumber", "transactionHash", "transactionIndex", "blockHash", "blockTimestamp", "logIndex", "removed"}

func (s *logScanner) topics(l *types.Log) bool {
	s.expect('[')
	l.Topics = []common.Hash{}
	if s.next() == ']' {
		s.i++
		return s.ok
	}
	for s.ok {
		var h common.Hash
		if !fixed(s.str(), h[:]) {
			return false
		}
		l.Topics = append(l.Topics, h)
		if s.next() == ',' {
			s.i++
			continue
		}
		s.expect(']')
		break
	}
	return s.ok
}

func (s *logScanner) skipScalar() bool {
	switch c := s.next(); {
	case c == '"':
		s.str()
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	case c == '-' || c >= '0' && c <= '9':
		start := s.i
		for s.i < len(s.b) && (s.b[s.i] >= '0' && s.b[s.i] <= '9' || s.b[s.i] == '-' || s.b[s.i] == '+' || s.b[s.i] == '.' || s.b[s.i] == 'e' || s.b[s.i] == 'E') {
			s.i++
		}
		if s.i == len(s.b) {
			s.short = true // the number may go on
		}
		var f json.Number
		return json.Unmarshal(s.b[start:s.i], &f) == nil
	default:
		return false
	}
	return s.ok
}
