package redisserver

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// ReplyError is an error reply from Redis ("-ERR ...").
type ReplyError string

func (e ReplyError) Error() string { return "redis: " + string(e) }

// Do sends one command to the Redis server at addr over a fresh connection
// and returns the reply: string for simple and bulk strings, int64 for
// integers, []any for arrays, nil for null, and a ReplyError for error
// replies. It speaks just enough RESP2 for readiness checks and test set-up;
// applications should use a real client.
func Do(ctx context.Context, addr string, args ...string) (any, error) {
	if len(args) == 0 {
		return nil, errors.New("redis: Do: no command")
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	if err := conn.SetDeadline(deadline); err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := io.WriteString(conn, b.String()); err != nil {
		return nil, fmt.Errorf("redis %s: %w", args[0], err)
	}
	reply, err := readReply(bufio.NewReader(conn))
	if err != nil {
		var re ReplyError
		if errors.As(err, &re) {
			return nil, err
		}
		return nil, fmt.Errorf("redis %s: %w", args[0], err)
	}
	return reply, nil
}

func readReply(r *bufio.Reader) (any, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	line = strings.TrimSuffix(line, "\r\n")
	if line == "" {
		return nil, errors.New("empty reply line")
	}
	kind, rest := line[0], line[1:]
	switch kind {
	case '+':
		return rest, nil
	case '-':
		return nil, ReplyError(rest)
	case ':':
		return strconv.ParseInt(rest, 10, 64)
	case '$':
		n, err := strconv.Atoi(rest)
		if err != nil {
			return nil, fmt.Errorf("bad bulk length %q", rest)
		}
		if n < 0 {
			return nil, nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, err
		}
		return string(buf[:n]), nil
	case '*':
		n, err := strconv.Atoi(rest)
		if err != nil {
			return nil, fmt.Errorf("bad array length %q", rest)
		}
		if n < 0 {
			return nil, nil
		}
		arr := make([]any, n)
		for i := range arr {
			if arr[i], err = readReply(r); err != nil {
				var re ReplyError
				if !errors.As(err, &re) {
					return nil, err
				}
				arr[i] = re
			}
		}
		return arr, nil
	default:
		return nil, fmt.Errorf("unexpected reply %q", line)
	}
}
