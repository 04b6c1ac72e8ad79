package indexer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/modeldao/modeldao/indexer"
)

// The Node's own eth_getLogs client must give what go-ethereum's client gives on a real
// node's answers, whatever the read buffer's size (a log split across reads at every byte),
// without falling back to go-ethereum.
func TestNodeLogsMatchGoEthereum(t *testing.T) {
	s := newScenario(t, 11, 60)
	ctx := context.Background()
	url := s.Chain.URL()
	ec := dial(t, url)
	head, err := ec.BlockNumber(ctx)
	if err != nil {
		t.Fatal(err)
	}
	d := s.DAO.Deployment
	addrs := []common.Address{d.Governor, d.Token, d.Timelock, d.Registry}
	queries := []ethereum.FilterQuery{
		{FromBlock: big.NewInt(0), ToBlock: new(big.Int).SetUint64(head), Addresses: addrs},
		{FromBlock: big.NewInt(0), ToBlock: new(big.Int).SetUint64(head)},
		{FromBlock: new(big.Int).SetUint64(head / 2), ToBlock: new(big.Int).SetUint64(head / 2), Addresses: addrs},
		{FromBlock: new(big.Int).SetUint64(head + 1000), ToBlock: new(big.Int).SetUint64(head + 2000), Addresses: addrs}, // past the head: an error
	}
	total := 0
	for _, size := range []int{1, 7, 300, 4096, 1 << 20} {
		n := indexer.NewNode(ec, url)
		n.SetStreamBuffer(size)
		for i, q := range queries {
			got, err := n.FilterLogs(ctx, q)
			want, wantErr := ec.FilterLogs(ctx, q)
			sameAnswer(t, fmt.Sprintf("buffer %d, query %d", size, i), got, err, want, wantErr)
			total += len(got)
		}
		if f := n.Fallbacks(); f != 0 {
			t.Fatalf("buffer %d: %d answers of the node went to go-ethereum", size, f)
		}
	}
	if total < 250 {
		t.Fatalf("the scenario has only %d logs over 5 passes", total)
	}
}

// sameAnswer fails unless the Node's answer is go-ethereum's: the same logs, or errors of
// the same kind with the same message (rpc.Error: and code; rpc.HTTPError: and status).
func sameAnswer(t *testing.T, name string, got []types.Log, err error, want []types.Log, wantErr error) {
	t.Helper()
	if (err == nil) != (wantErr == nil) {
		t.Fatalf("%s: error %v, go-ethereum's %v", name, err, wantErr)
	}
	if wantErr != nil {
		var we, ge rpc.Error
		if errors.As(wantErr, &we) {
			if !errors.As(err, &ge) || ge.ErrorCode() != we.ErrorCode() || ge.Error() != we.Error() {
				t.Fatalf("%s: error %#v, go-ethereum's %#v", name, err, wantErr)
			}
		}
		var wh, gh rpc.HTTPError
		if errors.As(wantErr, &wh) {
			if !errors.As(err, &gh) || gh.StatusCode != wh.StatusCode || !bytes.Equal(gh.Body, wh.Body) {
				t.Fatalf("%s: error %#v, go-ethereum's %#v", name, err, wantErr)
			}
		}
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s: %d logs %+v, go-ethereum %d logs %+v", name, len(got), got, len(want), want)
	}
}

// Odd and hostile answers: the Node decodes them itself or asks again through go-ethereum,
// and either way answers what go-ethereum's client answers.
func TestNodeLogsOddAnswers(t *testing.T) {
	log := types.Log{
		Address: common.HexToAddress("0x5FbDB2315678afecb367f032d93F642f64180aa3"),
		Topics: []common.Hash{
			common.HexToHash("0xdec2bacdd2f05b59de34da9b523dff8be42e5e38e818c82fdb0bae774387a724"),
			common.HexToHash("0x000000000000000000000000f39fd6e51aad88f6f4ce6ab8827279cfffb92266"),
		},
		Data:           bytes.Repeat([]byte{0xab, 0x01}, 40),
		BlockNumber:    0x1b4,
		TxHash:         common.HexToHash("0x01"),
		TxIndex:        3,
		BlockHash:      common.HexToHash("0x02"),
		BlockTimestamp: 0x6553f100,
		Index:          7,
	}
	one, _ := json.Marshal(log)
	obj := string(one)
	large := log
	large.Data = bytes.Repeat([]byte{0x5a}, 300_000) // larger than the read buffer
	bigObj, _ := json.Marshal(large)
	env := func(result string) string { return `{"jsonrpc":"2.0","id":ID,"result":` + result + `}` }
	type answer struct {
		body   string
		status int  // 0: 200
		stream bool // decoded by the Node itself, without go-ethereum
	}
	cases := map[string]answer{
		"plain":                {body: env(`[` + obj + `,` + obj + `]`), stream: true},
		"empty":                {body: env(`[]`), stream: true},
		"fields in any order":  {body: `{"result":[` + obj + `],"id":ID,"jsonrpc":"2.0"}`, stream: true},
		"whitespace":           {body: " \n{ \"jsonrpc\" : \"2.0\" ,\t\"id\" : ID , \"result\" : [ " + obj + " , " + obj + " ] } \n", stream: true},
		"extra scalar fields":  {body: `{"jsonrpc":"2.0","x":1.5e3,"y":null,"z":"w","id":ID,"result":[` + obj + `]}`, stream: true},
		"large log":            {body: env(`[` + obj + `,` + string(bigObj) + `,` + obj + `]`), stream: true},
		"rpc error":            {body: `{"jsonrpc":"2.0","id":ID,"error":{"code":-32005,"message":"query returned more than 10000 results","data":{"from":"0x1"}}}`, stream: true},
		"rpc error, no text":   {body: `{"jsonrpc":"2.0","id":ID,"error":{"code":-32000}}`, stream: true},
		"null error":           {body: `{"jsonrpc":"2.0","id":ID,"error":null,"result":[` + obj + `]}`, stream: true},
		"error object, result": {body: `{"jsonrpc":"2.0","id":ID,"result":[` + obj + `],"error":{"code":-32000,"message":"x"}}`, stream: true},
		"error a string":       {body: `{"jsonrpc":"2.0","id":ID,"error":"boom"}`},
		"null id":              {body: `{"jsonrpc":"2.0","id":null,"result":[]}`},
		"null result":          {body: env(`null`)},
		"no result":            {body: `{"jsonrpc":"2.0","id":ID}`},
		"result not an array":  {body: env(`{}`)},
		"other id":             {body: `{"jsonrpc":"2.0","id":999999,"result":[]}`},
		"string id":            {body: `{"jsonrpc":"2.0","id":"ID","result":[]}`},
		"two results":          {body: `{"jsonrpc":"2.0","id":ID,"result":[],"result":[` + obj + `]}`},
		"structured field":     {body: `{"jsonrpc":"2.0","x":{"a":[1]},"id":ID,"result":[]}`},
		"escaped log":          {body: env(`[` + strings.Replace(obj, `"address":"0x`, `"address":"\u0030x`, 1) + `]`)},
		"upper-case key":       {body: env(`[` + strings.Replace(obj, `"blockNumber"`, `"BlockNumber"`, 1) + `]`)},
		"odd data":             {body: env(`[` + strings.Replace(obj, `"data":"0x`, `"data":"0x1`, 1) + `]`)},
		"unknown log fields":   {body: env(`[` + strings.Replace(obj, `{`, `{"a":1.5e3,"b":"x","c":true,"d":null,`, 1) + `]`), stream: true},
		"truncated":            {body: env(`[` + obj + `,` + obj + `]`)[:len(obj)+40]},
		"truncated in a value": {body: env(`[` + obj)[:30+len(obj)/2]},
		"trailing garbage":     {body: env(`[]`) + `x`},
		"two answers":          {body: env(`[]`) + env(`[]`)},
		"not json":             {body: `<html>bad gateway</html>`},
		"empty body":           {body: ``},
		"batch answer":         {body: `[` + env(`[]`) + `]`},
		"http 429":             {body: `{"error":"rate limited"}`, status: 429},
		"http 500":             {body: `oops`, status: 500},
	}
	for name, a := range cases {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var req struct{ ID json.RawMessage }
			body, _ := io.ReadAll(r.Body)
			_ = json.Unmarshal(body, &req)
			if a.status != 0 {
				w.WriteHeader(a.status)
			}
			_, _ = io.WriteString(w, strings.ReplaceAll(a.body, "ID", string(req.ID)))
		}))
		ec, err := ethclient.Dial(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		q := ethereum.FilterQuery{FromBlock: big1, ToBlock: big.NewInt(0x1b4), Addresses: []common.Address{log.Address}}
		for _, size := range []int{5, 64 << 10} {
			n := indexer.NewNode(ec, srv.URL)
			n.SetStreamBuffer(size)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			got, err := n.FilterLogs(ctx, q)
			want, wantErr := ec.FilterLogs(ctx, q)
			cancel()
			label := fmt.Sprintf("%s (buffer %d)", name, size)
			sameAnswer(t, label, got, err, want, wantErr)
			if a.stream && n.Fallbacks() != 0 {
				t.Errorf("%s: went to go-ethereum, the Node should decode it", label)
			}
			if !a.stream && a.status == 0 && n.Fallbacks() == 0 {
				t.Errorf("%s: decoded by the Node, expected a fallback to go-ethereum", label)
			}
		}
		ec.Close()
		srv.Close()
	}
}

var big1 = big.NewInt(1)

// The request the Node sends is the one go-ethereum's client sends for the same query.
func TestNodeLogsRequest(t *testing.T) {
	var bodies []map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]any
		_ = json.NewDecoder(r.Body).Decode(&m)
		delete(m, "id")
		bodies = append(bodies, m)
		_, _ = io.WriteString(w, `{"jsonrpc":"2.0","id":1,"result":[]}`)
	}))
	defer srv.Close()
	ec := dial(t, srv.URL)
	q := ethereum.FilterQuery{FromBlock: big.NewInt(0), ToBlock: big.NewInt(0xabcdef), Addresses: []common.Address{common.HexToAddress("0x5FbDB2315678afecb367f032d93F642f64180aa3"), {}}}
	if _, err := indexer.NewNode(ec, srv.URL).FilterLogs(context.Background(), q); err != nil {
		t.Fatal(err)
	}
	if _, err := ec.FilterLogs(context.Background(), q); err != nil {
		t.Fatal(err)
	}
	if len(bodies) != 2 {
		t.Fatalf("%d requests", len(bodies))
	}
	// go-ethereum checksums addresses; a node reads hex case-insensitively.
	for _, b := range bodies {
		p := b["params"].([]any)[0].(map[string]any)
		for i, a := range p["address"].([]any) {
			p["address"].([]any)[i] = strings.ToLower(a.(string))
		}
	}
	if !reflect.DeepEqual(bodies[0], bodies[1]) {
		t.Fatalf("the Node sent %v, go-ethereum %v", bodies[0], bodies[1])
	}
}

// An index built through the Node is the index built through go-ethereum's client, with
// ranges of every size (answers of one log to whole batches).
func TestNodeGivesTheSameDigest(t *testing.T) {
	s := newScenario(t, 3, 150)
	want, _ := cleanDigest(t, s)
	for _, size := range []uint64{1, 7, 1000} {
		_, rdb := newRedis(t)
		st := newStore(s, rdb)
		n := indexer.NewNode(dial(t, s.Chain.URL()), s.Chain.URL())
		n.SetStreamBuffer(97)
		catchUp(t, newIndexer(t, n, s, st, func(c *indexer.Config) { c.RangeBlocks, c.MaxRangeBlocks = size, size }))
		if got := digest(t, st); got != want {
			t.Errorf("range of %d blocks: digest %s, want %s", size, got, want)
		}
		if f := n.Fallbacks(); f != 0 {
			t.Errorf("range of %d blocks: %d answers went to go-ethereum", size, f)
		}
	}
}

// A node on this machine is asked for uncompressed answers (gzip costs both processes CPU
// and saves no network); a remote one gets Go's default, gzip.
func TestNodeAsksLoopbackForPlainAnswers(t *testing.T) {
	var enc []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		enc = append(enc, r.Header.Get("Accept-Encoding"))
		_, _ = io.WriteString(w, `{"jsonrpc":"2.0","id":1,"result":[]}`)
	}))
	defer srv.Close()
	q := ethereum.FilterQuery{FromBlock: big.NewInt(1), ToBlock: big.NewInt(2)}
	local := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	for _, u := range []string{srv.URL, local} {
		if _, err := indexer.NewNode(dial(t, u), u).FilterLogs(context.Background(), q); err != nil {
			t.Fatal(err)
		}
	}
	if len(enc) != 2 || enc[0] != "identity" || enc[1] != "identity" {
		t.Fatalf("Accept-Encoding %q, want identity twice", enc)
	}
	for host, want := range map[string]bool{"127.0.0.1": true, "127.8.0.1": true, "::1": true, "localhost": true, "10.0.0.1": false, "eth.example.org": false} {
		if got := indexer.IsLoopback(host); got != want {
			t.Errorf("IsLoopback(%q) = %v", host, got)
		}
	}
}
