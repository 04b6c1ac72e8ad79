//go:build tools

// Package tools pins the versions of the external binaries that ModelDAO's
// tests and "modeldao dev" run as real processes. It is a module of its own
// because kubo's go.mod carries replace/exclude directives, which makes
// "go install github.com/ipfs/kubo/cmd/ipfs@version" refuse to build; building
// from inside a module that requires kubo works. Run build.sh (or "make
// tools") to build the binaries into <repo>/.bin/.
package tools

import (
	_ "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie"
	_ "github.com/ipfs/kubo/cmd/ipfs"
)
