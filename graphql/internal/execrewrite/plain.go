package main

// Plain writers (7. in main.go's comment): a list of objects whose selection is plain data
// (fields read from the object and written by appenders, objects and lists of objects read
// from the object whose selections are plain data in turn) is written into its parent's
// buffer with no field context, no context and no buffer of its own per element. gqlgen
// gives every element a graphql.FieldContext and a context (~200 bytes, zeroed), and the
// direct writers a pooled buffer copied into the parent's: for the 150 metrics of a page of
// 50 model versions that was about 5 % of the page's CPU each (BENCHMARKS.md, fourth pass).
//
// Nothing of plain data can fail but a value an appender has no JSON for (a nil pointer, a
// non-finite float): then the plain writer gives up (ok false), the caller drops what it
// wrote and the list is marshalled as before, under its field contexts, which then report
// the error with its path. Plain data has no side effects, so writing it twice changes
// nothing but the cost of that rare answer.

import (
	"bytes"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

var (
	// An object marshaler of a value (gqlgen takes its address) or of a pointer.
	objectValue = regexp.MustCompile(`(?m)^func \(ec \*executionContext\) (marshalN[^\s(]+)\(ctx context\.Context, sel ast\.SelectionSet, v [^\s*\[]\S*\) graphql\.Marshaler \{
	return ec\._(\w+)\(ctx, sel, &v\)
\}
`)
	objectPointer = regexp.MustCompile(`(?m)^func \(ec \*executionContext\) (marshalN[^\s(]+)\(ctx context\.Context, sel ast\.SelectionSet, v (\*\S+)\) graphql\.Marshaler \{
	if v == nil \{
		graphql\.AddInvalidNullError\(ctx, "[^"]+"\)
		return graphql\.Null
	\}
	return ec\._(\w+)\(ctx, sel, v\)
\}
`)
	// A non-null list of non-null objects, as execrewrite leaves gqlgen's marshaler.
	objectList = regexp.MustCompile(`(?m)^func \(ec \*executionContext\) (marshalN[^\s(]+)\(ctx context\.Context, sel ast\.SelectionSet, v (\[\]\S+)\) graphql\.Marshaler \{
	ret := marshalSliceInline\(ctx, len\(v\), 0, (?:true|false), func\(ctx context\.Context, i int\) graphql\.Marshaler \{
		fc := graphql\.GetFieldContext\(ctx\)
		fc\.Result = &v\[i\]
		return ec\.(marshalN[^\s(]+)\(ctx, sel, v\[i\]\)
	\}\)

	for _, e := range ret \{
		if e == graphql\.Null \{
			return graphql\.Null
		\}
	\}

	return ret
\}
`)
)

type objectRef struct {
	typ string // the GraphQL type, as in _Type
	ptr bool   // the marshaler takes a pointer (else a value, whose address gqlgen takes)
	// goType is the pointer type the marshaler takes (ptr).
	goType string
}

type listRefPlain struct {
	goType string // []T or []*T
	elem   string // the element's object marshaler
}

// plainCase is a field of a type that a plain writer can write: code (an appender), or an
// object or a list of objects read from the object with expr.
type plainCase struct {
	name, code   string
	object, list string // the object's marshaler, or the list's
	expr         string
}

type plainType struct {
	typ, objType, impl string
	cases              []plainCase
}

type plainSet struct {
	src       []byte
	objects   map[string]objectRef
	lists     map[string]listRefPlain
	types     map[string]*plainType // the types written directly, by GraphQL name
	usedLists map[string]bool       // the lists the direct writers try plain first
	usedInto  map[string]bool       // the object marshalers whose objects are written into their parent's buffer (into.go)
}

func newPlainSet(src []byte) *plainSet {
	s := &plainSet{src: src, objects: map[string]objectRef{}, lists: map[string]listRefPlain{},
		types: map[string]*plainType{}, usedLists: map[string]bool{}, usedInto: map[string]bool{}}
	for _, m := range objectValue.FindAllSubmatch(src, -1) {
		s.objects[string(m[1])] = objectRef{typ: string(m[2])}
	}
	for _, m := range objectPointer.FindAllSubmatch(src, -1) {
		s.objects[string(m[1])] = objectRef{typ: string(m[3]), ptr: true, goType: string(m[2])}
	}
	for _, m := range objectList.FindAllSubmatch(src, -1) {
		if _, ok := s.objects[string(m[3])]; ok {
			s.lists[string(m[1])] = listRefPlain{goType: string(m[2]), elem: string(m[3])}
		}
	}
	return s
}

// listable says whether a list field may be written plain: a list of objects whose field
// context takes no arguments (their errors belong to the field context, which a plain
// writer does not make).
func (s *plainSet) listable(listMarshaler, fieldContext string) bool {
	if _, ok := s.lists[listMarshaler]; !ok {
		return false
	}
	head := []byte("func (ec *executionContext) " + fieldContext + "(")
	i := bytes.Index(s.src, head)
	if i < 0 {
		return false
	}
	end := bytes.Index(s.src[i:], []byte("\n}\n"))
	return end > 0 && !bytes.Contains(s.src[i:i+end], []byte("Args"))
}

func plainListFunc(listMarshaler string) string {
	return "plainList" + strings.TrimPrefix(listMarshaler, "marshalN")
}

// generate writes the plain writers of the lists the direct writers use and of the types
// their elements reach.
func (s *plainSet) generate(body *bytes.Buffer) {
	need := map[string]bool{}
	var visit func(typ string)
	visit = func(typ string) {
		t, ok := s.types[typ]
		if !ok || need[typ] {
			return
		}
		need[typ] = true
		for _, c := range t.cases {
			switch {
			case c.object != "":
				visit(s.objects[c.object].typ)
			case c.list != "":
				s.usedLists[c.list] = true
				visit(s.objects[s.lists[c.list].elem].typ)
			}
		}
	}
	for l := range s.usedLists {
		visit(s.objects[s.lists[l].elem].typ)
	}

	lists := make([]string, 0, len(s.usedLists))
	for l := range s.usedLists {
		lists = append(lists, l)
	}
	sort.Strings(lists)
	for _, l := range lists {
		ref := s.lists[l]
		elem := s.objects[ref.elem]
		t, ok := s.types[elem.typ]
		if !ok {
			fmt.Fprintf(body, "\n// %s: its elements are not written directly.\nfunc (ec *executionContext) %[1]s(b []byte, _ ast.SelectionSet, _ %s) ([]byte, bool) {\n\treturn b, false\n}\n",
				plainListFunc(l), ref.goType)
			continue
		}
		arg := "v[i]"
		if !elem.ptr {
			arg = "&v[i]"
		}
		fmt.Fprintf(body, `
// %[1]s writes v as %[2]s does when its selection is plain data (see plain.go in
// graphql/internal/execrewrite); ok false when it is not, or when a value has no plain JSON.
func (ec *executionContext) %[1]s(b []byte, sel ast.SelectionSet, v %[3]s) ([]byte, bool) {
	fields := ec.collectFields(sel, %[4]s)
	if !ec.plainOK_%[5]s(fields) {
		return b, false
	}
	start := len(b)
	b = append(b, '[')
	for i := range v {
		if i > 0 {
			b = append(b, ',')
		}
		var ok bool
		if b, ok = ec.plain_%[5]s(b, fields, %[6]s); !ok {
			return b[:start], false
		}
		if i == 0 {
			// Room for the others, as long as the first: the buffer is not regrown
			// element after element (growslice was 5 %% of a page of 50 delegates).
			b = growLike(b, start, len(v)-1)
		}
	}
	return append(b, ']'), true
}
`, plainListFunc(l), l, ref.goType, t.impl, t.typ, arg)
	}

	types := make([]string, 0, len(need))
	for t := range need {
		types = append(types, t)
	}
	sort.Strings(types)
	for _, typ := range types {
		s.writeType(body, s.types[typ])
	}
}

func (s *plainSet) writeType(body *bytes.Buffer, t *plainType) {
	var ok, write strings.Builder
	var scalars []string
	for _, c := range t.cases {
		switch {
		case c.code != "":
			scalars = append(scalars, fmt.Sprintf("%q", c.name))
			fmt.Fprintf(&write, "\t\tcase %q:\n\t\t\t%s\n", c.name, c.code)
		case c.object != "":
			ref := s.objects[c.object]
			child, known := s.types[ref.typ]
			if !known {
				continue
			}
			fmt.Fprintf(&ok, "\t\tcase %q:\n\t\t\tif !ec.plainOK_%s(ec.collectFields(field.Selections, %s)) {\n\t\t\t\treturn false\n\t\t\t}\n", c.name, child.typ, child.impl)
			if ref.ptr {
				fmt.Fprintf(&write, "\t\tcase %q:\n\t\t\tb, ok = ec.plain_%s(b, ec.collectFields(field.Selections, %s), %s)\n", c.name, child.typ, child.impl, c.expr)
			} else {
				fmt.Fprintf(&write, "\t\tcase %q:\n\t\t\tv := %s\n\t\t\tb, ok = ec.plain_%s(b, ec.collectFields(field.Selections, %s), &v)\n", c.name, c.expr, child.typ, child.impl)
			}
		case c.list != "":
			child, known := s.types[s.objects[s.lists[c.list].elem].typ]
			if !known {
				continue
			}
			fmt.Fprintf(&ok, "\t\tcase %q:\n\t\t\tif !ec.plainOK_%s(ec.collectFields(field.Selections, %s)) {\n\t\t\t\treturn false\n\t\t\t}\n", c.name, child.typ, child.impl)
			fmt.Fprintf(&write, "\t\tcase %q:\n\t\t\tb, ok = ec.%s(b, field.Selections, %s)\n", c.name, plainListFunc(c.list), c.expr)
		}
	}
	if len(scalars) > 0 {
		fmt.Fprintf(&ok, "\t\tcase %s:\n", strings.Join(scalars, ", "))
	}
	fmt.Fprintf(body, `
// plainOK_%[1]s says whether fields of a %[1]s are plain data all the way down.
func (ec *executionContext) plainOK_%[1]s(fields []graphql.CollectedField) bool {
	for i := range fields {
		field := &fields[i]
		if field.IsDeferred() {
			return false
		}
		switch field.Name {
%[2]s		default:
			return false
		}
	}
	return true
}

// plain_%[1]s writes fields of obj as direct_%[1]s does, for fields plainOK_%[1]s accepts;
// ok false when a value has no plain JSON (see plain.go in graphql/internal/execrewrite).
func (ec *executionContext) plain_%[1]s(b []byte, fields []graphql.CollectedField, obj %[3]s) ([]byte, bool) {
	if obj == nil {
		return b, false
	}
	b = append(b, '{')
	for i := range fields {
		field := &fields[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, field.Alias...)
		b = append(b, '"', ':')
		ok := true
		switch field.Name {
%[4]s		default:
			return b, false
		}
		if !ok {
			return b, false
		}
	}
	return append(b, '}'), true
}
`, t.typ, ok.String(), t.objType, write.String())
}
