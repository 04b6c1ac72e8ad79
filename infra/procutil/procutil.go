// Package procutil holds what the infra launchers (redisserver, kubo,
// lambdarie) share: free loopback ports, finding the repository root and the
// binaries built into <repo>/.bin, and running an external process in its own
// process group with its output captured, so that stopping it also stops
// anything it started.
package procutil

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// ModulePath is the module path of the main ModelDAO module; RepoRoot looks
// for the go.mod that declares it.
const ModulePath = "github.com/modeldao/modeldao"

var (
	portsMu sync.Mutex
	// handedOut remembers ports returned by FreePort in this process so
	// that two launchers started close together never get the same one
	// (the kernel may hand a just-closed port out again).
	handedOut = map[int]bool{}
)

// FreePort returns a TCP port on 127.0.0.1 that was free when it was asked
// for and that FreePort has not returned before in this process. Another
// process may still take it before it is used: launchers that pick ports this
// way retry with new ports when the process reports "address already in use"
// (see IsAddrInUse).
func FreePort() (int, error) {
	ports, err := FreePorts(1)
	if err != nil {
		return 0, err
	}
	return ports[0], nil
}

// FreePorts returns n distinct free ports on 127.0.0.1, as FreePort does.
func FreePorts(n int) ([]int, error) {
	portsMu.Lock()
	defer portsMu.Unlock()
	var (
		ports     []int
		listeners []net.Listener
	)
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	for tries := 0; len(ports) < n; tries++ {
		if tries > 100*n {
			return nil, fmt.Errorf("procutil: no free TCP port found on 127.0.0.1 after %d tries", tries)
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("procutil: looking for a free TCP port on 127.0.0.1: %w", err)
		}
		// Keep it open until all n are chosen so the same port is not
		// returned twice in one call.
		listeners = append(listeners, l)
		port := l.Addr().(*net.TCPAddr).Port
		if handedOut[port] {
			continue
		}
		handedOut[port] = true
		ports = append(ports, port)
	}
	return ports, nil
}

// IsAddrInUse reports whether a process's output says it could not listen
// because the address was taken.
func IsAddrInUse(output string) bool {
	return strings.Contains(strings.ToLower(output), "address already in use")
}

// LoopbackAddr returns "127.0.0.1:port".
func LoopbackAddr(port int) string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
}

// RepoRoot returns the ModelDAO repository root: the nearest directory, from
// the working directory upwards, holding a go.mod that declares
// "module github.com/modeldao/modeldao".
func RepoRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("procutil: %w", err)
	}
	return RepoRootFrom(wd)
}

// RepoRootFrom is RepoRoot starting from dir instead of the working directory.
func RepoRootFrom(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("procutil: %w", err)
	}
	for d := dir; ; {
		if modulePath(filepath.Join(d, "go.mod")) == ModulePath {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("procutil: no go.mod declaring module %s in %s or any directory above it: run from inside the ModelDAO repository", ModulePath, dir)
		}
		d = parent
	}
}

// modulePath returns the module path a go.mod file declares, or "".
func modulePath(gomod string) string {
	data, err := os.ReadFile(gomod)
	if err != nil {
		return ""
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if rest, ok := strings.CutPrefix(line, "module"); ok && (rest == "" || rest[0] == ' ' || rest[0] == '\t') {
			rest = strings.TrimSpace(rest)
			if i := strings.Index(rest, "//"); i >= 0 {
				rest = strings.TrimSpace(rest[:i])
			}
			return strings.Trim(rest, `"`+"`")
		}
	}
	return ""
}

// Binary says where to look for an external program.
type Binary struct {
	// Name is the executable's file name, e.g. "ipfs".
	Name string
	// EnvVar, when set in the environment, is the path to use and nothing
	// else is tried (e.g. "MODELDAO_IPFS_BIN").
	EnvVar string
	// RepoBin says whether <repo root>/.bin/<Name> is tried (the binaries
	// "make tools" builds live there).
	RepoBin bool
	// Missing is the error text when the program is found nowhere; it
	// should say which command installs or builds it.
	Missing string
}

// ErrNotFound is wrapped by the error Find returns when a binary is missing.
var ErrNotFound = errors.New("executable not found")

// Find returns the path of the binary: $EnvVar if set, else <repo>/.bin/Name
// if RepoBin and it exists (the repository found from the working directory,
// or else from the running executable's directory), else Name looked up in
// PATH.
func (b Binary) Find() (string, error) {
	if b.EnvVar != "" {
		if p := os.Getenv(b.EnvVar); p != "" {
			if err := isExecutable(p); err != nil {
				return "", fmt.Errorf("%s=%s: %w (unset it to use the default lookup, or: %s)", b.EnvVar, p, err, b.missing())
			}
			return p, nil
		}
	}
	if b.RepoBin {
		for _, root := range repoRoots() {
			p := filepath.Join(root, ".bin", b.Name)
			if isExecutable(p) == nil {
				return p, nil
			}
		}
	}
	if p, err := exec.LookPath(b.Name); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("%s: %w", b.missing(), ErrNotFound)
}

// repoRoots returns the repository roots found from the working directory
// and from the running executable's directory (e.g. <repo>/bin/modeldao run
// from elsewhere).
func repoRoots() []string {
	var roots []string
	if root, err := RepoRoot(); err == nil {
		roots = append(roots, root)
	}
	if exe, err := os.Executable(); err == nil {
		if root, err := RepoRootFrom(filepath.Dir(exe)); err == nil && (len(roots) == 0 || roots[0] != root) {
			roots = append(roots, root)
		}
	}
	return roots
}

func (b Binary) missing() string {
	if b.Missing != "" {
		return b.Missing
	}
	return b.Name + " not found"
}

func isExecutable(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return fmt.Errorf("%s is a directory", p)
	}
	if fi.Mode()&0o111 == 0 {
		return fmt.Errorf("%s is not executable", p)
	}
	return nil
}

// TempDir makes a temporary directory named after the launcher, e.g.
// "modeldao-redis-*".
func TempDir(name string) (string, error) {
	dir, err := os.MkdirTemp("", "modeldao-"+name+"-")
	if err != nil {
		return "", fmt.Errorf("%s: making a temporary directory: %w", name, err)
	}
	return dir, nil
}
