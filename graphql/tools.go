//go:build tools

// This file keeps the gqlgen command in the module graph (go mod tidy would otherwise drop
// what `go generate ./graphql/` needs to run it). It is never compiled.
package graphql

import _ "github.com/99designs/gqlgen"
