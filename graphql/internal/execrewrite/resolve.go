package main

// Direct resolver fields (8. in main.go's comment): a field a resolver answers is resolved
// by a generated resolve_ function that does what graphql.ResolveField does for it, in
// the same order, with the same errors and recovery, but without its generic machinery:
// the closures that build the field context, call the resolver and marshal its result;
// the field middleware's closure and the context it captures on the heap; a context of its
// own (one elemCtx instead of context.WithValue). For the 100 voters of a proposal's votes
// this was ~8 % of the page's CPU (BENCHMARKS.md, fourth pass).
//
// The field middleware is the one thing skipped: resolve_ calls the resolver itself only
// while the operation's middleware is gqlgen's identity (no extension intercepts fields,
// identityMiddleware in generated/direct.go); otherwise it calls gqlgen's field function.

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
)

// A resolver field as gqlgen generates it: no directives, the resolver called with the
// object (and the field's arguments).
var resolverField = regexp.MustCompile(`(?m)^func \(ec \*executionContext\) (_\w+)\(ctx context\.Context, field graphql\.CollectedField, obj (\S+)\) \(ret graphql\.Marshaler\) \{
	return graphql\.ResolveField\(
		ctx,
		ec\.OperationContext,
		field,
		func\(ctx context\.Context, field graphql\.CollectedField\) \(\*graphql\.FieldContext, error\) \{
			return ec\.(fieldContext_\w+)\(ctx, field\)
		\},
		func\(ctx context\.Context\) \(any, error\) \{
(?:			fc := graphql\.GetFieldContext\(ctx\)
)?			return (ec\.Resolvers\.\w+\(\)\.\w+\(ctx, obj[^\n]*\))
		\},
		nil,
		func\(ctx context\.Context, selections ast\.SelectionSet, v (\S+)\) graphql\.Marshaler \{
			return ec\.(marshal[^\s(]+)\(ctx, selections, v\)
		\},
		(true|false),
		(true|false),
	\)
\}
`)

// Field contexts without arguments, as gqlgen generates them: of a scalar, and of an object.
var (
	scalarFieldContext = regexp.MustCompile(`(?m)^func \(ec \*executionContext\) (fieldContext_\w+)\(_ context\.Context, field graphql\.CollectedField\) \(fc \*graphql\.FieldContext, err error\) \{
	return graphql\.NewScalarFieldContext\(("\w+"), field, (true|false), (true|false), "(\w+)"\)
\}
`)
	objectFieldContext = regexp.MustCompile(`(?m)^func \(ec \*executionContext\) (fieldContext_\w+)\(_ context\.Context, field graphql\.CollectedField\) \(fc \*graphql\.FieldContext, err error\) \{
	fc = &graphql\.FieldContext\{
		Object:     ("\w+"),
		Field:      field,
		IsMethod:   (true|false),
		IsResolver: (true|false),
		Child: func\(ctx context\.Context, field graphql\.CollectedField\) \(\*graphql\.FieldContext, error\) \{
			return ec\.(childFields_\w+)\(ctx, field\)
		\},
	\}
	return fc, nil
\}
`)
)

// An object's field context with arguments, as main.go leaves it (their memo first).
var argsFieldContext = regexp.MustCompile(`(?m)^func \(ec \*executionContext\) (fieldContext_\w+)\(ctx context\.Context, field graphql\.CollectedField\) \(fc \*graphql\.FieldContext, err error\) \{
	fc = &graphql\.FieldContext\{
		Object:     ("\w+"),
		Field:      field,
		IsMethod:   (true|false),
		IsResolver: (true|false),
		Child: func\(ctx context\.Context, field graphql\.CollectedField\) \(\*graphql\.FieldContext, error\) \{
			return ec\.(childFields_\w+)\(ctx, field\)
		\},
	\}
	defer func\(\) \{
		if r := recover\(\); r != nil \{
			err = ec\.Recover\(ctx, r\)
			ec\.Error\(ctx, err\)
		\}
	\}\(\)
	if args, ok := ec\.args\.get\(field\); ok \{
		fc\.Args = args
		return fc, nil
	\}
`)

// argsFieldContexts returns, for the field contexts with arguments, the literal of the
// field context they make when the arguments are parsed already (but its Parent and Args).
func argsFieldContexts(src []byte) map[string]string {
	out := map[string]string{}
	for _, m := range argsFieldContext.FindAllSubmatch(src, -1) {
		out[string(m[1])] = fmt.Sprintf("graphql.FieldContext{Object: %s, Field: field, IsMethod: %s, IsResolver: %s,\n\t\tChild: func(ctx context.Context, field graphql.CollectedField) (*graphql.FieldContext, error) {\n\t\t\treturn ec.%s(ctx, field)\n\t\t}}",
			m[2], m[3], m[4], m[5])
	}
	return out
}

// enterText is the start of a resolve_ function: the field context fc, and ctx carrying
// it. fail is what the function does when the field context fails.
func enterText(r resolverRef, fcLit, argsLit, fail string) string {
	switch {
	case fcLit != "":
		return fmt.Sprintf("\tf := &fieldFrame{fc: %s}\n\tfc := &f.fc\n\tctx = f.enter(ctx)\n", fcLit)
	case argsLit != "":
		// The arguments parsed for an earlier object: the field context is made here, in one
		// allocation with its context; otherwise gqlgen's parses them, with its errors.
		return fmt.Sprintf("\tvar fc *graphql.FieldContext\n\tif args, ok := ec.args.get(field); ok {\n\t\tf := &fieldFrame{fc: %s}\n\t\tf.fc.Args = args\n\t\tfc, ctx = &f.fc, f.enter(ctx)\n\t} else {\n\t\tvar err error\n\t\tif fc, err = ec.%s(ctx, field); err != nil {\n%s\t\t}\n\t\tctx = withFieldContext(ctx, fc)\n\t}\n",
			argsLit, r.fieldContext, fail)
	}
	return fmt.Sprintf("\tfc, err := ec.%s(ctx, field)\n\tif err != nil {\n%s\t}\n\tctx = withFieldContext(ctx, fc)\n", r.fieldContext, fail)
}

// fieldContexts returns, for the field contexts without arguments, the composite literal
// of the field context they make (but its Parent).
func fieldContexts(src []byte) map[string]string {
	out := map[string]string{}
	for _, m := range scalarFieldContext.FindAllSubmatch(src, -1) {
		// The child function of graphql.NewScalarFieldContext, its type name a constant
		// here: a func literal capturing nothing, allocated by nobody.
		out[string(m[1])] = fmt.Sprintf("graphql.FieldContext{Object: %s, Field: field, IsMethod: %s, IsResolver: %s,\n\t\tChild: func(context.Context, graphql.CollectedField) (*graphql.FieldContext, error) {\n\t\t\treturn nil, errors.New(%q)\n\t\t}}",
			m[2], m[3], m[4], "field of type "+string(m[5])+" does not have child fields")
	}
	for _, m := range objectFieldContext.FindAllSubmatch(src, -1) {
		out[string(m[1])] = fmt.Sprintf("graphql.FieldContext{Object: %s, Field: field, IsMethod: %s, IsResolver: %s,\n\t\tChild: func(ctx context.Context, field graphql.CollectedField) (*graphql.FieldContext, error) {\n\t\t\treturn ec.%s(ctx, field)\n\t\t}}",
			m[2], m[3], m[4], m[5])
	}
	return out
}

type resolverRef struct {
	fn, objType, fieldContext, call, resType, marshaler string
	recover, nonNull                                    bool
}

// resolverFields parses the resolver fields of src whose result cannot be a nil interface
// (a pointer, a slice, a value): resolveField's nil result branch is then dead, as it
// tests the boxed result.
func resolverFields(src []byte) map[string]resolverRef {
	out := map[string]resolverRef{}
	for _, m := range resolverField.FindAllSubmatch(src, -1) {
		r := resolverRef{fn: string(m[1]), objType: string(m[2]), fieldContext: string(m[3]), call: string(m[4]),
			resType: string(m[5]), marshaler: string(m[6]), recover: string(m[7]) == "true", nonNull: string(m[8]) == "true"}
		if !strings.HasPrefix(r.resType, "*") && !strings.HasPrefix(r.resType, "[]") && !concreteType(src, r.resType) {
			continue
		}
		out[r.fn] = r
	}
	return out
}

// concreteType says whether a named result type is known not to be an interface: a basic
// type, or a type of this module declared as something else than an interface.
func concreteType(src []byte, typ string) bool {
	switch typ {
	case "string", "bool", "int", "int32", "int64", "uint64", "float64":
		return true
	}
	// The module's own types: modeldao.X is declared in the root package, model.X in
	// graphql/model; the rewrite is told which are interfaces by the marshaler gqlgen
	// wrote for them (an interface's marshaler switches on the value's type).
	name := typ[strings.LastIndex(typ, ".")+1:]
	return !bytes.Contains(src, []byte("func (ec *executionContext) _"+name+"(ctx context.Context, sel ast.SelectionSet, obj "+typ+") graphql.Marshaler {\n\tswitch obj := (obj).(type) {"))
}

// resolveFunc writes resolve_X for the resolver field _X. fcLit, when not "", is the
// literal of its field context (fieldContexts): then the field context and its context are
// one allocation (fieldFrame).
func resolveFunc(body *bytes.Buffer, r resolverRef, fcLit, argsLit string) {
	recoverText := ""
	if r.recover {
		recoverText = "\tdefer func() {\n\t\tif r := recover(); r != nil {\n\t\t\tec.OperationContext.Error(ctx, ec.OperationContext.Recover(ctx, r))\n\t\t\tret = graphql.Null\n\t\t}\n\t}()\n"
	}
	onError := "\t\treturn graphql.Null\n"
	if !r.nonNull {
		onError = "\t\tif fc.NonNull {\n\t\t\treturn graphql.RequiredNull\n\t\t}\n\t\treturn graphql.Null\n"
	}
	enter := enterText(r, fcLit, argsLit, "\t\treturn graphql.Null\n")
	fmt.Fprintf(body, `
// resolve%[1]s is %[1]s, resolved as graphql.ResolveField does when no field middleware is
// installed (see resolve.go in graphql/internal/execrewrite).
func (ec *executionContext) resolve%[1]s(ctx context.Context, field graphql.CollectedField, obj %[2]s) (ret graphql.Marshaler) {
	if !identityMiddleware(ec.OperationContext.ResolverMiddleware) {
		return ec.%[1]s(ctx, field, obj)
	}
%[3]s%[4]s	res, err := %[5]s
	if err != nil {
		ec.OperationContext.Error(ctx, graphql.AddFieldLocationToError(ctx, err))
%[6]s	}
	fc.Result = res
	return ec.%[7]s(ctx, field.Selections, res)
}
`, r.fn, r.objType, enter, recoverText, r.call, onError, r.marshaler)
}

// intoable says whether the resolver field's object can be written into its parent's
// buffer (into.go): a non-null object behind a pointer.
func intoable(r resolverRef, objects map[string]objectRef) bool {
	ref, ok := objects[r.marshaler]
	return ok && ref.ptr && r.nonNull
}

// resolveIntoFunc writes resolveInto_X, resolve_X writing its object into the parent's
// buffer w (into.go) rather than returning it; what a panic left in w is dropped.
func resolveIntoFunc(body *bytes.Buffer, r resolverRef, fcLit, argsLit string) {
	recoverText := ""
	if r.recover {
		recoverText = "\tmark, invalid := len(w.b), w.invalid\n\tdefer func() {\n\t\tif r := recover(); r != nil {\n\t\t\tec.OperationContext.Error(ctx, ec.OperationContext.Recover(ctx, r))\n\t\t\tw.b, w.invalid = w.b[:mark], invalid\n\t\t\tw.value(graphql.Null, graphql.Null)\n\t\t}\n\t}()\n"
	}
	enter := enterText(r, fcLit, argsLit, "\t\tw.value(graphql.Null, graphql.Null)\n\t\treturn\n")
	fmt.Fprintf(body, `
// resolveInto%[1]s is resolve%[1]s writing its object into w as
// w.value(ec.resolve%[1]s(ctx, field, obj), graphql.Null) does (see into.go in
// graphql/internal/execrewrite).
func (ec *executionContext) resolveInto%[1]s(w *jsonBuf, ctx context.Context, field graphql.CollectedField, obj %[2]s) {
	if !identityMiddleware(ec.OperationContext.ResolverMiddleware) {
		w.value(ec.%[1]s(ctx, field, obj), graphql.Null)
		return
	}
%[3]s%[4]s	res, err := %[5]s
	if err != nil {
		ec.OperationContext.Error(ctx, graphql.AddFieldLocationToError(ctx, err))
		w.value(graphql.Null, graphql.Null)
		return
	}
	fc.Result = res
	ec.%[6]s(w, ctx, field.Selections, res)
}
`, r.fn, r.objType, enter, recoverText, r.call, intoFunc(r.marshaler))
}
