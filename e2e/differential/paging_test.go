package differential

import (
	"context"
	"fmt"
	"math/big"
	"slices"
	"strings"
)

// item is an expected element of a list: its identity and the key it is ordered by,
// computed from chain values (uint256-exact).
type item struct {
	id  string
	key []*big.Int
}

func keyOf(xs ...uint64) []*big.Int {
	k := make([]*big.Int, len(xs))
	for i, x := range xs {
		k[i] = new(big.Int).SetUint64(x)
	}
	return k
}

// listSpec names a connection of the API and what it must hold.
type listSpec struct {
	name  string   // for reports, e.g. "proposals(orderBy: VOTES, ASC)"
	outer string   // the query around the connection, with %s where it goes: "%s" at the top
	path  []string // from data to the object holding the connection
	field string   // the connection's field
	args  string   // its arguments besides the page's, e.g. "orderBy: VOTES, orderDirection: ASC"
	node  string   // selection of a node; idOf reads its identity
	idOf  func(obj) string
	desc  bool
	want  []item
}

// page fetches one page: first/after or last/before.
func (h *harness) page(ctx context.Context, c *checker, s listSpec, pa string) (ids, cursors []string, total int, next, prev bool) {
	t := c.t
	t.Helper()
	args := pa
	if s.args != "" {
		args = s.args + ", " + pa
	}
	conn := fmt.Sprintf("%s(%s) { totalCount edges { cursor node { %s } } pageInfo { hasNextPage hasPreviousPage } }", s.field, args, s.node)
	data := h.query(ctx, t, "{ "+fmt.Sprintf(s.outer, conn)+" }")
	o := sub(t, data, s.path...)
	cn := sub(t, o, s.field)
	for _, e := range list(t, cn, "edges") {
		ids = append(ids, s.idOf(sub(t, e, "node")))
		cursors = append(cursors, str(t, e, "cursor"))
	}
	var n int
	fmt.Sscan(str(t, cn, "totalCount"), &n)
	return ids, cursors, n, str(t, cn, "pageInfo", "hasNextPage") == "true", str(t, cn, "pageInfo", "hasPreviousPage") == "true"
}

// checkList pages through a list forwards and backwards by k and checks: the exact order of
// the expected items (ties, which the schema leaves unordered, in any order, but the same
// both ways), no duplicates, no gaps, totalCount, hasNext/hasPrevious, and that cursors
// taken from one walk resume the list where they were taken.
func (h *harness) checkList(ctx context.Context, c *checker, s listSpec, k int) {
	kind := "list order: " + s.name
	if i := strings.IndexByte(s.name, '('); i > 0 && strings.Contains(s.name, "where") {
		kind = "list filter: " + s.name[:i]
	}
	subject := fmt.Sprintf("%s by %d", s.name, k)
	maxPages := len(s.want)/k + 3
	var fwd, fcur []string
	after := ""
	for range maxPages {
		pa := fmt.Sprintf("first: %d", k)
		if after != "" {
			pa += fmt.Sprintf(", after: %q", after)
		}
		ids, cur, total, next, prev := h.page(ctx, c, s, pa)
		if total != len(s.want) {
			c.fail(kind, subject, "totalCount %d, chain has %d", total, len(s.want))
			return
		}
		if prev != (after != "") {
			c.fail(kind, subject, "forward page after %d items: hasPreviousPage %v", len(fwd), prev)
		}
		fwd, fcur = append(fwd, ids...), append(fcur, cur...)
		if next != (len(fwd) < len(s.want)) {
			c.fail(kind, subject, "forward page ending at %d of %d: hasNextPage %v", len(fwd), len(s.want), next)
		}
		if !next || len(ids) == 0 {
			break
		}
		after = cur[len(cur)-1]
	}
	var bwd []string
	before := ""
	for range maxPages {
		pa := fmt.Sprintf("last: %d", k)
		if before != "" {
			pa += fmt.Sprintf(", before: %q", before)
		}
		ids, cur, _, next, prev := h.page(ctx, c, s, pa)
		if next != (before != "") {
			c.fail(kind, subject, "backward page before %d items: hasNextPage %v", len(bwd), next)
		}
		bwd = append(slices.Clone(ids), bwd...)
		if !prev || len(ids) == 0 {
			break
		}
		before = cur[0]
	}
	if msg := matchOrder(fwd, s.want, s.desc); msg != "" {
		c.fail(kind, subject, "forwards: %s", msg)
		return
	}
	if !slices.Equal(bwd, fwd) {
		c.fail(kind, subject, "backwards %v, forwards %v", bwd, fwd)
		return
	}
	// Cursors resume: after and before an item in the middle.
	if len(fwd) > 2 {
		i := len(fwd) / 2
		ids, _, _, _, _ := h.page(ctx, c, s, fmt.Sprintf("first: %d, after: %q", k, fcur[i]))
		if want := fwd[i+1 : min(len(fwd), i+1+k)]; !slices.Equal(ids, want) {
			c.fail(kind, subject, "after the cursor of item %d: %v, want %v", i, ids, want)
			return
		}
		ids, _, _, _, _ = h.page(ctx, c, s, fmt.Sprintf("last: %d, before: %q", k, fcur[i]))
		if want := fwd[max(0, i-k):i]; !slices.Equal(ids, want) {
			c.fail(kind, subject, "before the cursor of item %d: %v, want %v", i, ids, want)
			return
		}
	}
	c.ok(kind)
}

// matchOrder checks got against the expected items sorted by key (descending when desc);
// items with equal keys may come in any order. It returns "" or what differs.
func matchOrder(got []string, want []item, desc bool) string {
	seen := map[string]bool{}
	for _, id := range got {
		if seen[id] {
			return fmt.Sprintf("%s appears twice in %v", id, got)
		}
		seen[id] = true
	}
	w := slices.Clone(want)
	slices.SortStableFunc(w, func(a, b item) int {
		if desc {
			return cmpKeys(b.key, a.key)
		}
		return cmpKeys(a.key, b.key)
	})
	if len(got) != len(w) {
		return fmt.Sprintf("%d items, chain has %d: got %v, want %v", len(got), len(w), got, ids(w))
	}
	for i := 0; i < len(w); {
		j := i + 1
		for j < len(w) && cmpKeys(w[i].key, w[j].key) == 0 {
			j++
		}
		group := ids(w[i:j])
		if !sameSet(got[i:j], group) {
			return fmt.Sprintf("at %d: %v, want %v (key %s); before: %v", i, got[i:j], group, fmtKey(w[i].key), got[max(0, i-2):i])
		}
		i = j
	}
	return ""
}

func ids(w []item) []string {
	out := make([]string, len(w))
	for i, x := range w {
		out[i] = x.id
	}
	return out
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func fmtKey(k []*big.Int) string {
	s := make([]string, len(k))
	for i, x := range k {
		s[i] = x.String()
	}
	return strings.Join(s, "/")
}

// saved is a cursor taken from a list at one checkpoint, with the item it points at.
type saved struct {
	spec   listSpec
	cursor string
	id     string
}

// save takes the cursor of the middle item of the list's first 1000.
func (h *harness) save(ctx context.Context, c *checker, s listSpec) *saved {
	ids, cur, _, _, _ := h.page(ctx, c, s, "first: 1000")
	if len(ids) == 0 {
		return nil
	}
	i := len(ids) / 2
	return &saved{spec: s, cursor: cur[i], id: ids[i]}
}

// resume checks that a cursor saved before the list changed still gives the items after
// its item in the list as it is now (want, whose keys are unique).
func (h *harness) resume(ctx context.Context, c *checker, sv *saved, want []item, k int) {
	kind := "cursor kept across checkpoints: " + sv.spec.name
	s := sv.spec
	s.want = want
	w := slices.Clone(want)
	slices.SortFunc(w, func(a, b item) int {
		if s.desc {
			return cmpKeys(b.key, a.key)
		}
		return cmpKeys(a.key, b.key)
	})
	all := ids(w)
	i := slices.Index(all, sv.id)
	if i < 0 {
		c.fail(kind, sv.id, "the item of the saved cursor is gone from the chain's list")
		return
	}
	got, _, _, _, _ := h.page(ctx, c, s, fmt.Sprintf("first: %d, after: %q", k, sv.cursor))
	if exp := all[i+1 : min(len(all), i+1+k)]; !slices.Equal(got, exp) {
		c.fail(kind, sv.id, "after the saved cursor: %v, want %v", got, exp)
		return
	}
	c.ok(kind)
}

// checkOrderOnly checks the order of whatever the list holds against the chain's keys of
// those items, apart from which items it holds (checked by checkList), so that an ordering
// bug is seen even while a membership bug hides it from checkList.
func (h *harness) checkOrderOnly(ctx context.Context, c *checker, s listSpec) {
	kind := "list order of the listed items: " + s.name
	got, _, _, _, _ := h.page(ctx, c, s, "first: 1000")
	keys := map[string]item{}
	for _, w := range s.want {
		keys[w.id] = w
	}
	var sub []item
	for _, id := range got {
		w, ok := keys[id]
		if !ok {
			c.fail(kind, s.name, "lists %s, which the chain does not have in this list", id)
			return
		}
		sub = append(sub, w)
	}
	if msg := matchOrder(got, sub, s.desc); msg != "" {
		c.fail(kind, s.name, "%s", msg)
		return
	}
	c.ok(kind)
}
