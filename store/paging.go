package store

import (
	"encoding/base64"
	"errors"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/modeldao/modeldao"
)

// Paging: the Relay arguments, pages, and the cursor codec.

// Page sizes.
const (
	DefaultPageSize = 50
	MaxPageSize     = 1000
)

// PageArgs are the Relay paging arguments: First items after the cursor After, or Last
// items before the cursor Before. With neither First nor Last, the page is the first
// DefaultPageSize items (the last ones when only Before is given).
type PageArgs struct {
	First  *int
	After  string
	Last   *int
	Before string
}

// Page is one page of a list.
type Page[T any] struct {
	Items   []T
	Cursors []string // Cursors[i] points at Items[i]
	// HasNextPage: items follow the page (within Before, when given). HasPreviousPage: items
	// precede the page (within After, when given).
	HasNextPage     bool
	HasPreviousPage bool
	TotalCount      int // items of the whole list, filters applied, cursors ignored
}

// StartCursor is the cursor of the first item, "" for an empty page.
func (p *Page[T]) StartCursor() string {
	if len(p.Cursors) == 0 {
		return ""
	}
	return p.Cursors[0]
}

// EndCursor is the cursor of the last item, "" for an empty page.
func (p *Page[T]) EndCursor() string {
	if len(p.Cursors) == 0 {
		return ""
	}
	return p.Cursors[len(p.Cursors)-1]
}

// pageWindow is a validated PageArgs.
type pageWindow struct {
	n       int
	fromEnd bool
	after   *listPos
	before  *listPos
}

// listPos is a place in a list: the (score, member) of an item, which may be gone.
type listPos struct {
	score  float64
	member string
}

func (a PageArgs) window(list string) (pageWindow, error) {
	var w pageWindow
	switch {
	case a.First != nil && a.Last != nil:
		return w, modeldao.Errorf(modeldao.EINVALID, "pass first or last, not both")
	case a.First != nil:
		w.n = *a.First
	case a.Last != nil:
		w.n, w.fromEnd = *a.Last, true
	default:
		w.n, w.fromEnd = DefaultPageSize, a.Before != "" && a.After == ""
	}
	name := "first"
	if w.fromEnd {
		name = "last"
	}
	if w.n < 0 {
		return w, modeldao.Errorf(modeldao.EINVALID, "%s is %d; it must be between 0 and %d", name, w.n, MaxPageSize)
	}
	if w.n > MaxPageSize {
		return w, modeldao.Errorf(modeldao.EINVALID, "%s is %d; a page holds at most %d items: page with after/before", name, w.n, MaxPageSize)
	}
	for _, c := range []struct {
		arg string
		dst **listPos
		val string
	}{{"after", &w.after, a.After}, {"before", &w.before, a.Before}} {
		if c.val == "" {
			continue
		}
		p, err := decodeCursor(list, c.val)
		if err != nil {
			return w, modeldao.WrapError(modeldao.EINVALID, err, "%s: cursor is not one this API issued for this list: pass a cursor from pageInfo or edges of the same field and orderBy", c.arg)
		}
		*c.dst = &p
	}
	return w, nil
}

// The cursor codec. A cursor is base64url("c1" NUL list NUL score NUL member): the list name
// makes a cursor of one list (or ordering) fail clearly on another.
const cursorVersion = "c1"

// EncodeCursor returns the cursor of the item (score, member) of the list named list.
func EncodeCursor(list string, score float64, member string) string {
	b := make([]byte, 0, len(cursorVersion)+len(list)+len(member)+32)
	b = append(b, cursorVersion...)
	b = append(b, 0)
	b = append(b, list...)
	b = append(b, 0)
	b = strconv.AppendFloat(b, score, 'g', -1, 64)
	b = append(b, 0)
	b = append(b, member...)
	return base64.RawURLEncoding.EncodeToString(b)
}

var errCursor = errors.New("malformed cursor")

func decodeCursor(list, c string) (listPos, error) {
	if len(c) > 4096 {
		return listPos{}, errCursor
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return listPos{}, errCursor
	}
	parts := strings.SplitN(string(b), "\x00", 4)
	if len(parts) != 4 || parts[0] != cursorVersion || parts[3] == "" {
		return listPos{}, errCursor
	}
	if parts[1] != list {
		return listPos{}, errors.New("cursor of another list")
	}
	score, err := strconv.ParseFloat(parts[2], 64)
	if err != nil || math.IsNaN(score) {
		return listPos{}, errCursor
	}
	return listPos{score, parts[3]}, nil
}

// scoredMember is a member of a sorted set with its score.
type scoredMember struct {
	member string
	score  float64
}

// sortList sorts items in list order: by score, then member, bytewise, as Redis orders a
// sorted set; reversed when desc.
func sortList(items []scoredMember, desc bool) {
	sort.Slice(items, func(i, j int) bool {
		a, b := items[i], items[j]
		if desc {
			a, b = b, a
		}
		if a.score != b.score {
			return a.score < b.score
		}
		return a.member < b.member
	})
}

// countBefore is the Go twin of the script's count: the number of items (in list order)
// at or before p when inclusive, strictly before it otherwise.
func countBefore(items []scoredMember, desc bool, p listPos, inclusive bool) int {
	return sort.Search(len(items), func(i int) bool {
		x := items[i]
		if x.score != p.score {
			return (x.score > p.score) != desc
		}
		if desc {
			if inclusive {
				return x.member < p.member
			}
			return x.member <= p.member
		}
		if inclusive {
			return x.member > p.member
		}
		return x.member >= p.member
	})
}

// pageSorted applies w to items in list order and returns the indexes of the page and the
// page flags, exactly as the script does.
func pageSorted(items []scoredMember, desc bool, w pageWindow) (start, stop int, hasNext, hasPrev bool) {
	total := len(items)
	a, b := 0, total
	if w.after != nil {
		a = countBefore(items, desc, *w.after, true)
	}
	if w.before != nil {
		b = countBefore(items, desc, *w.before, false)
	}
	b = max(b, a)
	if w.fromEnd {
		start, stop = max(b-w.n, a), b
	} else {
		start, stop = a, min(a+w.n, b)
	}
	hasNext, hasPrev = pageFlags(total, a, b, start, stop, w.fromEnd)
	return start, stop, hasNext, hasPrev
}
