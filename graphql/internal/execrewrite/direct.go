package main

// Direct object writers (4. in main.go's comment): for each object marshaler gqlgen
// generated, a function in generated/direct_gen.go resolves the same fields in the same
// order and appends their JSON into one buffer (generated/direct.go), and the marshaler
// calls it when no field of the object is deferred. Plain-data scalar fields (non-null or
// nullable) and lists of them are appended by an appender of their scalar (no
// graphql.Marshaler, no string); lists of objects read from the object are marshalled under
// their field context without the rest of graphql.ResolveField (closures, a boxed value, a
// deferred recover: a panic in plain data under them reaches the nearest resolver's
// recovery instead); every other field goes through its generated field function as
// before and its value is copied in.

import (
	"bytes"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

var (
	objectFunc = regexp.MustCompile(`(?m)^func \(ec \*executionContext\) _(\w+)\(ctx context\.Context, sel ast\.SelectionSet, obj (\S+)\) graphql\.Marshaler \{
	fields := graphql\.CollectFields\(ec\.OperationContext, sel, (\w+)\)
(?:	if !anyDeferred\(fields\) \{
		return ec\.direct_\w+\(ctx, fields, obj\)
	\}
)?
	out := graphql\.NewFieldSet\(fields\)
	deferred := newDeferredGroup\(ctx, fields\)
	for i, field := range fields \{
		switch field\.Name \{
((?s:.*?))		default:
			panic\("unknown field " \+ strconv\.Quote\(field\.Name\)\)
		\}
	\}
	out\.Dispatch\(ctx\)
`)
	caseTypename = regexp.MustCompile(`^		case "__typename":
			out\.Values\[i\] = graphql\.MarshalString\("(\w+)"\)
`)
	caseSync = regexp.MustCompile(`^		case "(\w+)":
			out\.Values\[i\] = ec\.(\w+)\(ctx, field, obj\)
(?:			if out\.Values\[i\] == graphql\.(Null|RequiredNull) \{
				(?:out\.Invalids\+\+|atomic\.AddUint32\(&out\.Invalids, 1\))
			\}
)?`)
	caseResolver = regexp.MustCompile(`^		case "(\w+)":
			out\.ResolveConcurrently\(ec\.OperationContext, &deferred, i,
				(true|false), (true|false),
				func\(ctx context\.Context\) graphql\.Marshaler \{
					return ec\.(\w+)\(ctx, field, obj\)
				\}\)
`)
	// A plain field as main.go rewrote it.
	plainRewritten = regexp.MustCompile(`(?m)^func \(ec \*executionContext\) (\w+)\(ctx context\.Context, field graphql\.CollectedField, obj \S+\) \(ret graphql\.Marshaler\) \{
	// plain data: written without graphql\.ResolveField \(see graphql/internal/execrewrite\)
	return ec\.(marshalN[^\s(]+)\(ctx, field\.Selections, (.+)\)
\}
`)
	// A non-null scalar marshaler as gqlgen generates it.
	scalarMarshaler = regexp.MustCompile(`(?m)^func \(ec \*executionContext\) (marshalN[^\s(]+)\(ctx context\.Context, sel ast\.SelectionSet, v (\S+)\) graphql\.Marshaler \{
(	if v == nil \{
		graphql\.AddInvalidNullError\(ctx, "[^"]+"\)
		return graphql\.Null
	\}
)?	_ = sel
	res := ((?:graphql|scalar)\.Marshal\w+)\((.+)\)
	if res == graphql\.Null \{
		graphql\.AddInvalidNullFromMarshaler\(ctx, "[^"]+"\)
	\}
	return (?:res|graphql\.WrapContextMarshaler\(ctx, res\))
\}
`)
	// A nullable field read from the object (no resolver, no middleware), marshalled by a
	// nullable marshaler of a pointer: main.go leaves it to graphql.ResolveField.
	nullablePlain = regexp.MustCompile(`(?m)^func \(ec \*executionContext\) (\w+)\(ctx context\.Context, field graphql\.CollectedField, obj \S+\) \(ret graphql\.Marshaler\) \{
	return graphql\.ResolveField\(
		ctx,
		ec\.OperationContext,
		field,
		func\(ctx context\.Context, field graphql\.CollectedField\) \(\*graphql\.FieldContext, error\) \{
			return ec\.fieldContext_\w+\(ctx, field\)
		\},
		func\(ctx context\.Context\) \(any, error\) \{
			return (obj\.\w+(?:\(\))?), nil
		\},
		nil,
		func\(ctx context\.Context, selections ast\.SelectionSet, v \*[^)\s]+\) graphql\.Marshaler \{
			return ec\.(marshalO[^\s(]+)\(ctx, selections, v\)
		\},
		true,
		false,
	\)
\}
`)
	// A non-null list read from the object (no resolver, no middleware).
	listPlain = regexp.MustCompile(`(?m)^func \(ec \*executionContext\) (\w+)\(ctx context\.Context, field graphql\.CollectedField, obj \S+\) \(ret graphql\.Marshaler\) \{
	return graphql\.ResolveField\(
		ctx,
		ec\.OperationContext,
		field,
		func\(ctx context\.Context, field graphql\.CollectedField\) \(\*graphql\.FieldContext, error\) \{
			return ec\.(fieldContext_\w+)\(ctx, field\)
		\},
		func\(ctx context\.Context\) \(any, error\) \{
			return (obj\.\w+(?:\(\))?), nil
		\},
		nil,
		func\(ctx context\.Context, selections ast\.SelectionSet, v \[\][^)\s]+\) graphql\.Marshaler \{
			return ec\.(marshalN[^\s(]+)\(ctx, selections, v\)
		\},
		true,
		true,
	\)
\}
`)
	// A non-null list of non-null scalars as gqlgen marshals it.
	scalarList = regexp.MustCompile(`(?m)^func \(ec \*executionContext\) (marshalN[^\s(]+)\(ctx context\.Context, sel ast\.SelectionSet, v (\[\]\S+)\) graphql\.Marshaler \{
	ret := make\(graphql\.Array, len\(v\)\)
	for i := range v \{
		ret\[i\] = ec\.(marshalN[^\s(]+)\(ctx, sel, v\[i\]\)
	\}

	for _, e := range ret \{
		if e == graphql\.Null \{
			return graphql\.Null
		\}
	\}

	return ret
\}
`)
	// A nullable scalar marshaler of a pointer as gqlgen generates it.
	scalarMarshalerO = regexp.MustCompile(`(?m)^func \(ec \*executionContext\) (marshalO[^\s(]+)\(ctx context\.Context, sel ast\.SelectionSet, v (\*\S+)\) graphql\.Marshaler \{
	if v == nil \{
		return graphql\.Null
	\}
	_ = sel
(?:	_ = ctx
)?	res := ((?:graphql|scalar)\.Marshal\w+)\((.+)\)
	return (?:res|graphql\.WrapContextMarshaler\(ctx, res\))
\}
`)
	importLine = regexp.MustCompile(`(?m)^\t(?:(\w+) )?"([^"]+)"$`)
)

// appenders maps a scalar's marshal function to the appender (generated/direct.go,
// graphql/scalar/append.go) that writes the same JSON.
var appenders = map[string]string{
	"graphql.MarshalString":       "appendString",
	"graphql.MarshalID":           "appendString",
	"graphql.MarshalInt":          "appendInt",
	"graphql.MarshalInt64":        "appendInt64",
	"graphql.MarshalInt32":        "appendInt32",
	"graphql.MarshalUint":         "appendUint",
	"graphql.MarshalUint64":       "appendUint64",
	"graphql.MarshalUint32":       "appendUint32",
	"graphql.MarshalBoolean":      "appendBoolean",
	"graphql.MarshalFloatContext": "appendFloat",
	"scalar.MarshalBigInt":        "scalar.AppendBigInt",
	"scalar.MarshalUint64BigInt":  "scalar.AppendUint64BigInt",
	"scalar.MarshalUint64ID":      "scalar.AppendUint64ID",
	"scalar.MarshalAddress":       "scalar.AppendAddress",
	"scalar.MarshalBytes32":       "scalar.AppendBytes32",
	"scalar.MarshalHashID":        "scalar.AppendHashID",
	"scalar.MarshalBytes":         "scalar.AppendBytes",
	"scalar.MarshalTextBytes":     "scalar.AppendTextBytes",
	"scalar.MarshalFixed":         "scalar.AppendFixed",
	"scalar.MarshalDateTime":      "scalar.AppendDateTime",
	"scalar.MarshalUnixDateTime":  "scalar.AppendUnixDateTime",
	"scalar.MarshalMetricKind":    "scalar.AppendMetricKind",
	"scalar.MarshalChainText":     "scalar.AppendChainText",
}

type plainRef struct{ marshaler, expr string }

// direct adds the direct writers: it returns exec_gen.go with each object marshaler
// calling its writer, and the text of direct_gen.go.
func direct(src []byte) (out, gen []byte, objects int, skipped []string) {
	plain := map[string]plainRef{}
	for _, m := range plainRewritten.FindAllSubmatch(src, -1) {
		plain[string(m[1])] = plainRef{string(m[2]), string(m[3])}
	}
	type appender struct{ typ, nilCheck, fn, expr string }
	scalars := map[string]appender{}
	for _, m := range scalarMarshaler.FindAllSubmatch(src, -1) {
		fn, ok := appenders[string(m[4])]
		if !ok {
			continue
		}
		scalars[string(m[1])] = appender{typ: string(m[2]), nilCheck: string(m[3]), fn: fn, expr: string(m[5])}
	}
	for _, m := range nullablePlain.FindAllSubmatch(src, -1) {
		plain[string(m[1])] = plainRef{string(m[3]), string(m[2])}
	}
	for _, m := range scalarMarshalerO.FindAllSubmatch(src, -1) {
		fn, ok := appenders[string(m[3])]
		if !ok {
			continue
		}
		// nil is written as null by the appender (ok), as the marshaler returns graphql.Null.
		scalars[string(m[1])] = appender{typ: string(m[2]), nilCheck: "null", fn: fn, expr: string(m[4])}
	}
	type listRef struct{ fieldContext, expr, marshaler string }
	lists := map[string]listRef{}
	for _, m := range listPlain.FindAllSubmatch(src, -1) {
		lists[string(m[1])] = listRef{string(m[2]), string(m[3]), string(m[4])}
	}
	scalarLists := map[string][2]string{} // list marshaler → its Go type, its element's marshaler
	for _, m := range scalarList.FindAllSubmatch(src, -1) {
		if _, ok := scalars[string(m[3])]; ok {
			scalarLists[string(m[1])] = [2]string{string(m[2]), string(m[3])}
		}
	}
	usedAppenders := map[string]bool{}
	usedLists := map[string]bool{}
	pl := newPlainSet(src)
	resolvers := resolverFields(src)
	fcLits := fieldContexts(src)
	argsLits := argsFieldContexts(src)
	usedResolvers := map[string]bool{}
	usedResolveInto := map[string]bool{}

	var body bytes.Buffer
	out = objectFunc.ReplaceAllFunc(src, func(fm []byte) []byte {
		m := objectFunc.FindSubmatch(fm)
		typ, objType, implementors, cases := string(m[1]), string(m[2]), string(m[3]), m[4]
		var sw strings.Builder
		ti := &plainType{typ: typ, objType: objType, impl: implementors}
		for len(cases) > 0 {
			if c := caseTypename.FindSubmatch(cases); c != nil {
				fmt.Fprintf(&sw, "\t\tcase \"__typename\":\n\t\t\tw.b = scalar.AppendJSONString(w.b, %q)\n", c[1])
				ti.cases = append(ti.cases, plainCase{name: "__typename", code: fmt.Sprintf("b = scalar.AppendJSONString(b, %q)", c[1])})
				cases = cases[len(c[0]):]
				continue
			}
			if c := caseSync.FindSubmatch(cases); c != nil {
				// invalid: the value that makes the object null (gqlgen's Invalids).
				name, fn, invalid := string(c[1]), string(c[2]), "nil"
				if len(c[3]) > 0 {
					invalid = "graphql." + string(c[3])
				}
				if p, ok := plain[fn]; ok && (invalid == "graphql.Null" && strings.HasPrefix(p.marshaler, "marshalN") ||
					invalid != "graphql.Null" && strings.HasPrefix(p.marshaler, "marshalO")) {
					if _, ok := scalars[p.marshaler]; ok {
						usedAppenders[p.marshaler] = true
						fmt.Fprintf(&sw, "\t\tcase %q:\n\t\t\tif b, ok := append%s(w.b, %s); ok {\n\t\t\t\tw.b = b\n\t\t\t} else {\n\t\t\t\tw.value(ec.%s(ctx, field, obj), %s)\n\t\t\t}\n",
							name, strings.TrimPrefix(p.marshaler, "marshal"), p.expr, fn, invalid)
						ti.cases = append(ti.cases, plainCase{name: name, code: fmt.Sprintf("b, ok = append%s(b, %s)", strings.TrimPrefix(p.marshaler, "marshal"), p.expr)})
						cases = cases[len(c[0]):]
						continue
					}
				}
				if p, ok := plain[fn]; ok && invalid == "graphql.Null" && strings.HasPrefix(p.marshaler, "marshalN") {
					if _, ok := pl.objects[p.marshaler]; ok {
						// An object read from the object: written by its direct writer, or
						// with its parent by a plain writer.
						ti.cases = append(ti.cases, plainCase{name: name, object: p.marshaler, expr: p.expr})
						if pl.objects[p.marshaler].ptr {
							// Written into this object's buffer (into.go).
							pl.usedInto[p.marshaler] = true
							fmt.Fprintf(&sw, "\t\tcase %q:\n\t\t\tec.%s(w, ctx, field.Selections, %s)\n", name, intoFunc(p.marshaler), p.expr)
						} else {
							fmt.Fprintf(&sw, "\t\tcase %q:\n\t\t\tw.value(ec.%s(ctx, field, obj), %s)\n", name, fn, invalid)
						}
						cases = cases[len(c[0]):]
						continue
					}
				}
				if l, ok := lists[fn]; ok && invalid == "graphql.Null" {
					if sl, ok := scalarLists[l.marshaler]; ok {
						// A list of scalars: appended element by element.
						usedLists[l.marshaler], usedAppenders[sl[1]] = true, true
						fmt.Fprintf(&sw, "\t\tcase %q:\n\t\t\tif b, ok := append%s(w.b, %s); ok {\n\t\t\t\tw.b = b\n\t\t\t} else {\n\t\t\t\tw.value(ec.%s(ctx, field, obj), graphql.Null)\n\t\t\t}\n",
							name, strings.TrimPrefix(l.marshaler, "marshal"), l.expr, fn)
						ti.cases = append(ti.cases, plainCase{name: name, code: fmt.Sprintf("b, ok = append%s(b, %s)", strings.TrimPrefix(l.marshaler, "marshal"), l.expr)})
					} else if pl.listable(l.marshaler, l.fieldContext) {
						// A list of objects: written with no context at all by a plain writer
						// when its selection is plain data (see plain.go); otherwise marshalled
						// under the list's field context (the elements' paths), without the
						// rest of graphql.ResolveField.
						ti.cases = append(ti.cases, plainCase{name: name, list: l.marshaler, expr: l.expr})
						pl.usedLists[l.marshaler] = true
						fmt.Fprintf(&sw, "\t\tcase %q:\n\t\t\tif b, ok := ec.%s(w.b, field.Selections, %s); ok {\n\t\t\t\tw.b = b\n\t\t\t} else if fc, err := ec.%s(ctx, field); err == nil {\n\t\t\t\tw.value(ec.%s(graphql.WithFieldContext(ctx, fc), field.Selections, %s), graphql.Null)\n\t\t\t} else {\n\t\t\t\tw.value(ec.%s(ctx, field, obj), graphql.Null)\n\t\t\t}\n",
							name, plainListFunc(l.marshaler), l.expr, l.fieldContext, l.marshaler, l.expr, fn)
					} else {
						// A list of objects: marshalled under the list's field context (the
						// elements' paths), without the rest of graphql.ResolveField.
						fmt.Fprintf(&sw, "\t\tcase %q:\n\t\t\tif fc, err := ec.%s(ctx, field); err == nil {\n\t\t\t\tw.value(ec.%s(graphql.WithFieldContext(ctx, fc), field.Selections, %s), graphql.Null)\n\t\t\t} else {\n\t\t\t\tw.value(ec.%s(ctx, field, obj), graphql.Null)\n\t\t\t}\n",
							name, l.fieldContext, l.marshaler, l.expr, fn)
					}
					cases = cases[len(c[0]):]
					continue
				}
				fmt.Fprintf(&sw, "\t\tcase %q:\n\t\t\tw.value(ec.%s(ctx, field, obj), %s)\n", name, fn, invalid)
				cases = cases[len(c[0]):]
				continue
			}
			if c := caseResolver.FindSubmatch(cases); c != nil {
				invalid := "graphql.RequiredNull"
				if string(c[3]) == "true" {
					invalid = "graphql.Null"
				}
				if r, ok := resolvers[string(c[4])]; ok && invalid == "graphql.Null" && intoable(r, pl.objects) {
					// Resolved directly, its object written into this one's buffer (resolve.go,
					// into.go).
					usedResolveInto[r.fn], pl.usedInto[r.marshaler] = true, true
					fmt.Fprintf(&sw, "\t\tcase %q:\n\t\t\tec.resolveInto%s(w, ctx, field, obj)\n", c[1], r.fn)
					cases = cases[len(c[0]):]
					continue
				}
				if r, ok := resolvers[string(c[4])]; ok {
					// Resolved directly (resolve.go), which recovers as ResolveField does.
					usedResolvers[r.fn] = true
					fmt.Fprintf(&sw, "\t\tcase %q:\n\t\t\tw.value(ec.resolve%s(ctx, field, obj), %s)\n", c[1], r.fn, invalid)
					cases = cases[len(c[0]):]
					continue
				}
				fmt.Fprintf(&sw, "\t\tcase %q:\n\t\t\tw.value(resolveInline(ctx, ec.OperationContext, %s, func(ctx context.Context) graphql.Marshaler {\n\t\t\t\treturn ec.%s(ctx, field, obj)\n\t\t\t}), %s)\n",
					c[1], c[2], c[4], invalid)
				cases = cases[len(c[0]):]
				continue
			}
			// A case this rewrite does not know: leave the type to gqlgen's field set.
			skipped = append(skipped, typ+": "+strings.SplitN(string(cases), "\n", 3)[0]+" "+strings.SplitN(string(cases), "\n", 3)[1])
			return fm
		}
		objects++
		pl.types[typ] = ti
		fmt.Fprintf(&body, `
// direct_%[1]s writes a %[1]s as _%[1]s does, into one buffer (see direct.go).
func (ec *executionContext) direct_%[1]s(ctx context.Context, fields []graphql.CollectedField, obj %[2]s) graphql.Marshaler {
	w := getBuf()
	ec.write_%[1]s(w, ctx, fields, obj)
	return w.done()
}

// write_%[1]s writes a %[1]s into w but its closing brace: w.invalid counts its non-null
// fields that were null.
func (ec *executionContext) write_%[1]s(w *jsonBuf, ctx context.Context, fields []graphql.CollectedField, obj %[2]s) {
	w.b = append(w.b, '{')
	for _, field := range fields {
		w.key(field.Alias)
		switch field.Name {
%[3]s		default:
			panic("unknown field " + strconv.Quote(field.Name))
		}
	}
}
`, typ, objType, sw.String())
		hook := fmt.Sprintf("\tfields := graphql.CollectFields(ec.OperationContext, sel, %s)\n\tif !anyDeferred(fields) {\n\t\treturn ec.direct_%s(ctx, fields, obj)\n\t}\n", implementors, typ)
		start := bytes.Index(fm, []byte("\tfields := "))
		end := bytes.Index(fm, []byte("\n\tout := graphql.NewFieldSet"))
		return append(append(append([]byte{}, fm[:start]...), hook...), fm[end:]...)
	})

	names := make([]string, 0, len(usedAppenders))
	for n := range usedAppenders {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		a := scalars[n]
		nilCheck := ""
		switch a.nilCheck {
		case "null":
			nilCheck = "\tif v == nil {\n\t\treturn append(b, \"null\"...), true\n\t}\n"
		case "":
		default:
			nilCheck = "\tif v == nil {\n\t\treturn b, false\n\t}\n"
		}
		fmt.Fprintf(&body, "\nfunc append%s(b []byte, v %s) ([]byte, bool) {\n%s\treturn %s(b, %s)\n}\n",
			strings.TrimPrefix(n, "marshal"), a.typ, nilCheck, a.fn, a.expr)
	}

	names = names[:0]
	for n := range usedLists {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		sl := scalarLists[n]
		fmt.Fprintf(&body, "\nfunc append%s(b []byte, v %s) ([]byte, bool) {\n\tstart := len(b)\n\tb = append(b, '[')\n\tfor i := range v {\n\t\tif i > 0 {\n\t\t\tb = append(b, ',')\n\t\t}\n\t\tvar ok bool\n\t\tif b, ok = append%s(b, v[i]); !ok {\n\t\t\treturn b[:start], false\n\t\t}\n\t}\n\treturn append(b, ']'), true\n}\n",
			strings.TrimPrefix(n, "marshal"), sl[0], strings.TrimPrefix(sl[1], "marshal"))
	}

	pl.generate(&body)
	pl.generateInto(&body)
	names = names[:0]
	for n := range usedResolvers {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		resolveFunc(&body, resolvers[n], fcLits[resolvers[n].fieldContext], argsLits[resolvers[n].fieldContext])
	}
	names = names[:0]
	for n := range usedResolveInto {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		resolveIntoFunc(&body, resolvers[n], fcLits[resolvers[n].fieldContext], argsLits[resolvers[n].fieldContext])
	}

	// The imports of exec_gen.go that the writers use.
	var imports strings.Builder
	text := body.String()
	for _, im := range importLine.FindAllStringSubmatch(importBlock(src), -1) {
		name := im[1]
		if name == "" {
			name = im[2][strings.LastIndex(im[2], "/")+1:]
		}
		if regexp.MustCompile(`\b` + regexp.QuoteMeta(name) + `\.`).MatchString(text) {
			fmt.Fprintf(&imports, "\t%s\n", strings.TrimSpace(im[0]))
		}
	}
	gen = fmt.Appendf(nil, "// Code generated by graphql/internal/execrewrite from exec_gen.go, DO NOT EDIT.\n\npackage generated\n\nimport (\n%s)\n%s", imports.String(), text)
	return out, gen, objects, skipped
}

func importBlock(src []byte) string {
	i := bytes.Index(src, []byte("\nimport (\n"))
	if i < 0 {
		return ""
	}
	j := bytes.Index(src[i:], []byte("\n)\n"))
	return string(src[i : i+j])
}
