package indexer

import (
	"reflect"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/contracts"
	"github.com/modeldao/modeldao/store"
)

// The decoder table and the store's projector table must agree: an event the indexer
// decodes but the store does not project would be dropped with a warning at run time.
func TestEveryDecodedEventIsProjected(t *testing.T) {
	d := NewDecoder(contracts.Deployment{ChainID: 1, Token: common.Address{1}, Governor: common.Address{2}, Timelock: common.Address{3}, Registry: common.Address{4}})
	if len(d.out) < 20 {
		t.Fatalf("the decoder table has %d entries; the four contracts have more events that the projection uses", len(d.out))
	}
	for _, typ := range d.out {
		if typ.Kind() != reflect.Pointer {
			t.Errorf("the decoder decodes into %s: events are pointers (the store's table is keyed by *T)", typ)
			continue
		}
		ev := reflect.New(typ.Elem()).Interface().(modeldao.Event)
		if !store.Projects(ev) {
			t.Errorf("the indexer decodes %s but the store has no projector for it: add one to the store's project_*.go file of its contract's family", typ)
		}
	}
}
