package graphql

//go:generate go run github.com/99designs/gqlgen generate --config gqlgen.yml
//go:generate go run ./internal/execrewrite generated/exec_gen.go
//go:generate go build ./generated/
