package store

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/modeldao/modeldao"
)

// The undo log's hand-written encoder must give back exactly the operation that was
// written, whatever bytes keys, members and values hold (a rollback writes to the key it
// reads here).
func TestUndoOpRoundTrip(t *testing.T) {
	ops := []undoOp{
		{K: opHSet, Key: "modeldao:{1:0xab}:account", F: "0x0000000000000000000000000000000000000001", V: `{"a":"<b>&\"c\"\\"}`},
		{K: opHDel, Key: "k", F: "f"},
		{K: opSet, Key: "k", V: "line\nbreak\ttab\x00nul"},
		{K: opDel, Key: "modeldao:x:versions:tag:\xff\xfe"},
		{K: opZAdd, Key: "z", F: "member é ü 日本", S: 1234567890123.25},
		{K: opZAdd, Key: "z", F: "m", S: 1e21},
		{K: opZAdd, Key: "z", F: "m", S: -0.000001},
		{K: opZAdd, Key: "z", F: "m", S: math.MaxFloat64},
		{K: opZRem, Key: "z", F: "\x80not utf-8"},
		{K: opZAdd, Key: "z", F: "", S: 0},
	}
	for _, o := range ops {
		buf := o.appendJSON(nil)
		if !json.Valid(buf) {
			t.Fatalf("%+v encodes as invalid JSON %s", o, buf)
		}
		var got undoOp
		if err := json.Unmarshal(buf, &got); err != nil {
			t.Fatalf("%s: %v", buf, err)
		}
		if got != o {
			t.Errorf("round trip of %+v gave %+v (%s)", o, got, buf)
		}
		// The reflection-based form of undoJSON reads back the same way: old undo lists
		// written before the hand-written encoder stay readable.
		var old undoOp
		ref, _ := json.Marshal(undoJSON{K: o.K, Key: "x"})
		if err := json.Unmarshal(ref, &old); err != nil || old.K != o.K {
			t.Errorf("reference encoding %s does not read back: %v", ref, err)
		}
	}
}

// appendText writes what modeldao.Text's MarshalJSON writes, for every string: printable
// ASCII with every character encoding/json escapes, control characters, other scripts,
// invalid UTF-8.
func TestAppendTextMatchesText(t *testing.T) {
	alphabet := []string{"a", "Z", "0", " ", `"`, `\`, "<", ">", "&", "{", ":", "/", "~", "\x7f", "\n", "\x00", "é", "日", "\xff", "\u2028"}
	rng := rand.New(rand.NewPCG(5, 8))
	for range 20000 {
		var sb strings.Builder
		for range rng.IntN(12) {
			sb.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		s := sb.String()
		want, err := modeldao.Text(s).MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		if got := appendText(nil, s); string(got) != string(want) {
			t.Fatalf("%q: wrote %s, Text %s", s, got, want)
		}
	}
}
