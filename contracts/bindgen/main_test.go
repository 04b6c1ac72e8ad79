package main

import (
	"bytes"
	"os"
	"testing"
)

// TestCommittedBindingsMatchArtifacts fails when someone edits the Solidity artifacts without
// regenerating the bindings (or edits the generated file by hand).
func TestCommittedBindingsMatchArtifacts(t *testing.T) {
	want, err := Generate("../artifacts")
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../bindings/bindings.gen.go")
	if err != nil {
		t.Fatalf("read committed bindings: %v (run `make contracts`)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("contracts/bindings/bindings.gen.go differs from what abigen generates of contracts/artifacts: run `make contracts` and commit the result")
	}
}
