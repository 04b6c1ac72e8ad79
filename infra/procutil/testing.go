package procutil

import "testing"

// CleanupT registers close with t.Cleanup, after logging the end of the
// process output (output()) when the test has failed, so failures show what
// the external process said. name labels the log.
func CleanupT(t testing.TB, name string, output func() string, close func() error) {
	t.Helper()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s output (last lines):\n%s", name, indent(tailLines(output(), 60)))
		}
		if err := close(); err != nil {
			t.Errorf("%s: close: %v", name, err)
		}
	})
}
