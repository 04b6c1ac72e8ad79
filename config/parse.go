package config

import (
	"strconv"
	"time"

	"github.com/modeldao/modeldao"
)

// The parsers of one variable's value, shared by Load and by the packages that read
// variables of their own (pinning.ConfigFromEnv, notify.ConfigFromEnv): a bad value of any
// of them is refused in the same words, naming the variable and what it wants.

// ParseDuration reads v, the value of the variable name, as a positive duration with a
// unit. The error's code is modeldao.EINVALID.
func ParseDuration(name, v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, modeldao.Errorf(modeldao.EINVALID, "%s=%q: want a positive duration with a unit, e.g. 500ms, 5s or 1m", name, v)
	}
	return d, nil
}

// ParseWhole reads v, the value of the variable name, as a whole number from min to max;
// want says what is wanted (e.g. "a whole number >= 1"). The error's code is
// modeldao.EINVALID.
func ParseWhole(name, v string, min, max int, want string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < min || n > max {
		return 0, modeldao.Errorf(modeldao.EINVALID, "%s=%q: want %s", name, v, want)
	}
	return n, nil
}
