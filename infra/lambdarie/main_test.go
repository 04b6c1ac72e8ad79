package lambdarie

import (
	"os"
	"testing"
)

var binDir string

// tempDirForBinary returns a directory that lives as long as the test binary.
func tempDirForBinary() (string, error) {
	if binDir != "" {
		return binDir, nil
	}
	dir, err := os.MkdirTemp("", "modeldao-lambdarie-test-")
	if err != nil {
		return "", err
	}
	binDir = dir
	return dir, nil
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}
