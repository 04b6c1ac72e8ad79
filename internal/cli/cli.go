// Package cli is the command line of ModelDAO (cmd/modeldao): the dev stack, the three
// services (serve, index, pin), the commands of publishers, voters and auditors that send
// transactions, the read commands that ask the GraphQL API, and the operator's commands
// (reindex, verify, digest).
//
// Every command has a flag.FlagSet of its own (flags may come before or after the
// arguments), prints readable text by default and JSON with --json, and ends with an exit
// status scripts can rely on:
//
//	0  success
//	1  failure (the chain refused, the input is wrong, …)
//	2  usage: unknown command, bad flags or arguments, missing configuration
//	3  unavailable: a node, Redis, IPFS or the API did not answer; try again later
//	4  verify found a difference between the chain and the API
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/client"
	"github.com/modeldao/modeldao/config"
)

// Exit statuses.
const (
	ExitOK          = 0
	ExitFailure     = 1
	ExitUsage       = 2
	ExitUnavailable = 3
	ExitMismatch    = 4
)

// Env is what a command sees of its process: output streams and the environment.
type Env struct {
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string // nil means os.Getenv
	// SetMemoryLimit sets the Go runtime's soft memory limit (debug.SetMemoryLimit), for the
	// indexing commands (IndexerMemoryLimit); nil leaves the process's limit alone, as the
	// tests, which run commands inside the test binary, do.
	SetMemoryLimit func(int64) int64
}

// command is one (sub)command.
type command struct {
	name    string // words after "modeldao", e.g. "propose approve"
	args    string // the arguments in the usage line, e.g. "<version>"
	summary string
	detail  string
	// setup registers the command's flags on fs and returns the function that runs it with
	// the positional arguments.
	setup func(r *runner, fs *flag.FlagSet) func(ctx context.Context, args []string) error
}

var commands []*command

func register(c *command) { commands = append(commands, c) }

// groups lists the words that only introduce subcommands, with their summaries.
var groups = map[string]string{
	"propose":         "create governance proposals (approve, reject, revoke, policy, policy retire, auditor)",
	"propose auditor": "propose to add or remove an auditor",
	"audit":           "post bias audits",
}

// Main runs the command line args (without the program name) and returns the exit status.
func Main(ctx context.Context, args []string, env Env) int {
	if env.Stdout == nil {
		env.Stdout = os.Stdout
	}
	if env.Stderr == nil {
		env.Stderr = os.Stderr
	}
	if env.Getenv == nil {
		env.Getenv = os.Getenv
	}
	if len(args) == 0 {
		topUsage(env.Stderr)
		return ExitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		if len(args) > 1 && args[0] == "help" {
			if c, _ := lookup(args[1:]); c != nil {
				r := &runner{env: env, cmd: c}
				fs := r.flagSet()
				c.setup(r, fs)
				commandUsage(env.Stdout, c, fs)
				return ExitOK
			}
			if g := strings.Join(args[1:], " "); groups[g] != "" {
				groupUsage(env.Stdout, g)
				return ExitOK
			}
			fmt.Fprintf(env.Stderr, "modeldao: no command %q\n", strings.Join(args[1:], " "))
			return ExitUsage
		}
		topUsage(env.Stdout)
		return ExitOK
	case "-version", "--version", "version":
		fmt.Fprintln(env.Stdout, "modeldao", version())
		return ExitOK
	}
	c, rest := lookup(args)
	if c == nil {
		prefix := groupPrefix(args)
		if prefix != "" {
			if len(args) > len(strings.Fields(prefix)) && !isHelp(args[len(strings.Fields(prefix))]) {
				fmt.Fprintf(env.Stderr, "modeldao %s: unknown subcommand %q\n\n", prefix, args[len(strings.Fields(prefix))])
				groupUsage(env.Stderr, prefix)
				return ExitUsage
			}
			if len(args) > len(strings.Fields(prefix)) {
				groupUsage(env.Stdout, prefix)
				return ExitOK
			}
			groupUsage(env.Stderr, prefix)
			return ExitUsage
		}
		fmt.Fprintf(env.Stderr, "modeldao: unknown command %q\n", args[0])
		if s := suggest(args[0]); s != "" {
			fmt.Fprintf(env.Stderr, "Did you mean %q?\n", s)
		}
		fmt.Fprintln(env.Stderr, "Run 'modeldao help' for the list of commands.")
		return ExitUsage
	}
	r := &runner{env: env, cmd: c, stdout: env.Stdout, stderr: env.Stderr}
	fs := r.flagSet()
	run := c.setup(r, fs)
	pos, err := parseInterspersed(fs, rest)
	if errors.Is(err, flag.ErrHelp) {
		commandUsage(env.Stdout, c, fs)
		return ExitOK
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "modeldao %s: %v\nRun 'modeldao %s --help' for usage.\n", c.name, err, c.name)
		return ExitUsage
	}
	err = run(ctx, pos)
	if err == nil {
		return ExitOK
	}
	code := exitCode(err)
	if code == ExitUsage {
		fmt.Fprintf(env.Stderr, "modeldao %s: %s\nRun 'modeldao %s --help' for usage.\n", c.name, message(err), c.name)
	} else {
		fmt.Fprintf(env.Stderr, "modeldao %s: %s\n", c.name, message(err))
	}
	if r.json && !r.printed {
		// Scripts get the error as JSON on stdout as well.
		_ = json.NewEncoder(env.Stdout).Encode(map[string]any{"error": map[string]any{"code": codeName(err), "message": message(err), "exitCode": code}})
	}
	return code
}

func isHelp(a string) bool { return a == "-h" || a == "-help" || a == "--help" }

// lookup finds the command named by the longest prefix of args.
func lookup(args []string) (*command, []string) {
	var best *command
	bestLen := 0
	for _, c := range commands {
		words := strings.Fields(c.name)
		if len(words) > len(args) || len(words) <= bestLen {
			continue
		}
		match := true
		for i, w := range words {
			if args[i] != w {
				match = false
				break
			}
		}
		if match {
			best, bestLen = c, len(words)
		}
	}
	if best == nil {
		return nil, nil
	}
	return best, args[bestLen:]
}

// groupPrefix returns the longest group named by a prefix of args.
func groupPrefix(args []string) string {
	best := ""
	for g := range groups {
		words := strings.Fields(g)
		if len(words) > len(args) || len(g) <= len(best) {
			continue
		}
		if strings.Join(args[:len(words)], " ") == g {
			best = g
		}
	}
	return best
}

func suggest(name string) string {
	for _, c := range commands {
		first := strings.Fields(c.name)[0]
		if strings.HasPrefix(first, name) || strings.HasPrefix(name, first) || levenshtein(name, first) <= 2 {
			return first
		}
	}
	return ""
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// parseInterspersed parses flags that may come before, between or after the positional
// arguments; "--" ends the flags.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func topUsage(w io.Writer) {
	fmt.Fprint(w, `modeldao: a DAO-governed registry of AI models, from the command line.

Usage: modeldao <command> [arguments] [flags]

`)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	sections := []struct {
		title string
		names []string
	}{
		{"Run the stack", []string{"dev", "deploy", "serve", "index", "pin", "relay", "notify"}},
		{"Publishers", []string{"publish"}},
		{"Voters and proposers", []string{"propose approve", "propose reject", "propose revoke", "propose policy", "propose policy retire", "propose auditor add", "propose auditor remove", "vote", "delegate", "queue", "execute", "mine"}},
		{"Auditors", []string{"audit submit"}},
		{"Everyone (through the GraphQL API)", []string{"proposals", "models", "status"}},
		{"Operators", []string{"verify", "digest", "reindex", "webhook add", "webhook list", "webhook remove"}},
	}
	for _, s := range sections {
		fmt.Fprintf(tw, "%s:\n", s.title)
		for _, n := range s.names {
			if c, _ := lookup(strings.Fields(n)); c != nil {
				fmt.Fprintf(tw, "  %s\t%s\n", c.name, c.summary)
			}
		}
	}
	tw.Flush()
	fmt.Fprint(w, `
Run 'modeldao <command> --help' for a command's arguments and flags.
Exit status: 0 ok, 1 failure, 2 usage, 3 unavailable (retry later), 4 verify found a difference.
`)
}

func groupUsage(w io.Writer, g string) {
	fmt.Fprintf(w, "modeldao %s: %s\n\nCommands:\n", g, groups[g])
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	var names []string
	for _, c := range commands {
		if strings.HasPrefix(c.name, g+" ") {
			names = append(names, c.name)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		c, _ := lookup(strings.Fields(n))
		fmt.Fprintf(tw, "  modeldao %s %s\t%s\n", c.name, c.args, c.summary)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nRun 'modeldao %s <command> --help' for details.\n", g)
}

func commandUsage(w io.Writer, c *command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: modeldao %s", c.name)
	if c.args != "" {
		fmt.Fprintf(w, " %s", c.args)
	}
	fmt.Fprintf(w, " [flags]\n\n%s\n", c.summary)
	if c.detail != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimSpace(c.detail))
	}
	var b strings.Builder
	fs.VisitAll(func(f *flag.Flag) {
		name, usage := flag.UnquoteUsage(f)
		fmt.Fprintf(&b, "  --%s", f.Name)
		if name != "" {
			fmt.Fprintf(&b, " %s", name)
		}
		fmt.Fprintf(&b, "\n      %s", usage)
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && f.DefValue != "-1" && f.DefValue != "[]" {
			fmt.Fprintf(&b, " (default %s)", f.DefValue)
		}
		b.WriteString("\n")
	})
	if b.Len() > 0 {
		fmt.Fprintf(w, "\nFlags:\n%s", b.String())
	}
}

// usageError is a mistake in the command line (exit status 2).
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return &usageError{modeldao.Errorf(modeldao.EINVALID, format, args...)}
}

// asUsage marks err (bad input found before anything was sent) as a usage error.
func asUsage(err error) error {
	if err == nil {
		return nil
	}
	return &usageError{err}
}

// mismatchError is what verify returns when the API and the chain disagree.
type mismatchError struct{ n int }

func (e *mismatchError) Error() string {
	return fmt.Sprintf("%d difference(s) between the chain and the API: the index is wrong; rebuild it with `modeldao reindex`", e.n)
}

func exitCode(err error) int {
	var ue *usageError
	var me *mismatchError
	var ce *config.Error
	var ae *client.Error
	switch {
	case errors.As(err, &ue), errors.As(err, &ce):
		return ExitUsage
	case errors.As(err, &me):
		return ExitMismatch
	case errors.As(err, &ae):
		switch ae.Code {
		case client.CodeTransport, client.CodeUnavailable, client.CodeTimeout:
			return ExitUnavailable
		}
		return ExitFailure
	case modeldao.ErrorCode(err) == modeldao.EUNAVAILABLE:
		return ExitUnavailable
	case errors.Is(err, context.DeadlineExceeded):
		return ExitUnavailable
	}
	return ExitFailure
}

func codeName(err error) string {
	switch exitCode(err) {
	case ExitUsage:
		return "usage"
	case ExitUnavailable:
		return modeldao.EUNAVAILABLE
	case ExitMismatch:
		return "mismatch"
	}
	var ae *client.Error
	if errors.As(err, &ae) {
		return ae.Code
	}
	return modeldao.ErrorCode(err)
}

// message is the text of err for the user: the messages of *modeldao.Error without their
// codes.
func message(err error) string {
	var ue *usageError
	if errors.As(err, &ue) {
		err = ue.err
	}
	var ce *config.Error
	if errors.As(err, &ce) {
		return ce.Error()
	}
	var ae *client.Error
	if errors.As(err, &ae) && !isModeldaoError(err) {
		switch ae.Code {
		case client.CodeTransport:
			return "the GraphQL API did not answer: " + ae.Message + " (is it running? `make dev` starts it; pass --api or set MODELDAO_API_URL)"
		default:
			return ae.Message + " (" + ae.Code + ")"
		}
	}
	var me *modeldao.Error
	if errors.As(err, &me) {
		prefix := ""
		if s := err.Error(); s != me.Error() {
			// Context added around the *modeldao.Error by fmt.Errorf("…: %w").
			prefix = strings.TrimSuffix(s, me.Error())
		}
		msg := prefix + me.Message
		if me.Err != nil {
			msg += ": " + me.Err.Error()
		}
		return msg
	}
	return err.Error()
}

func isModeldaoError(err error) bool {
	var me *modeldao.Error
	return errors.As(err, &me)
}
