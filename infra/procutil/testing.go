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

// OptionsT returns the optional options of a launcher's StartT (none: the zero value),
// failing the test when more than one is given. launcher names the caller in the message.
func OptionsT[O any](t testing.TB, launcher string, opts []O) O {
	t.Helper()
	var o O
	switch len(opts) {
	case 0:
	case 1:
		o = opts[0]
	default:
		t.Fatalf("%s: at most one Options, got %d", launcher, len(opts))
	}
	return o
}
