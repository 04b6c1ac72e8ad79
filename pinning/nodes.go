package pinning

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/store"
)

// Replication: a Consumer pins on every IPFS node it is given (NewReplicated), at once, and
// keeps the state of each pin on each node in the pin record (modeldao.PinReplica). The
// overall status counts the nodes that hold the pin against Config.Replication: PINNED at
// or above it, DEGRADED below it (at least one holds it). A node that does not answer or
// refuses is recorded as such on its replica and never fails the job or holds up the other
// nodes; only when no node could pin does the job take the one-node path (retry with
// backoff, or wait while no node answers at all). The content is verified (digest,
// manifest) once, on a node that pinned it: the same CID is the same bytes everywhere. A
// node that comes back is caught up by Reconcile (catchup.go).

// NewReplicated returns a consumer of the pin queue of st that pins on every kubo daemon of
// nodes (at least one; each node's Addr must differ), PINNED once cfg.Replication of them
// hold a pin (0: all of them).
func NewReplicated(nodes []*Client, st *store.Store, cfg Config) (*Consumer, error) {
	if len(nodes) == 0 {
		return nil, modeldao.Errorf(modeldao.EINVALID, "no IPFS node to pin on: set IPFS_API_URLS (comma-separated kubo RPC API URLs) or IPFS_API_URL")
	}
	seen := map[string]bool{}
	for _, n := range nodes {
		if seen[n.Addr] {
			return nil, modeldao.Errorf(modeldao.EINVALID, "IPFS node %s is listed twice: list each node once in IPFS_API_URLS", n.Addr)
		}
		seen[n.Addr] = true
	}
	if cfg.Replication > len(nodes) {
		return nil, modeldao.Errorf(modeldao.EINVALID, "%s=%d but only %d IPFS node(s) are listed: lower it or add nodes to IPFS_API_URLS", EnvReplication, cfg.Replication, len(nodes))
	}
	if cfg.Replication < 0 {
		return nil, modeldao.Errorf(modeldao.EINVALID, "%s=%d: want a whole number >= 1", EnvReplication, cfg.Replication)
	}
	cfg = cfg.withDefaults()
	factor := cfg.Replication
	if factor == 0 {
		factor = len(nodes)
	}
	return &Consumer{
		nodes:  nodes,
		factor: factor,
		st:     st,
		cfg:    cfg,
		log:    cfg.Logger.With("component", "pinning", "consumer", cfg.Consumer),
	}, nil
}

// ParseNodes splits a comma-separated list of IPFS API addresses (IPFS_API_URLS) into
// clients, skipping blanks. hc is given to every NewClient (nil: each its own default).
func ParseNodes(list string, hc *http.Client) ([]*Client, error) {
	var out []*Client
	for _, a := range strings.Split(list, ",") {
		if a = strings.TrimSpace(a); a == "" {
			continue
		}
		cl, err := NewClient(a, hc)
		if err != nil {
			return nil, err
		}
		out = append(out, cl)
	}
	if len(out) == 0 {
		return nil, modeldao.Errorf(modeldao.EINVALID, "IPFS_API_URLS lists no address: give one or more kubo RPC API URLs, comma-separated, e.g. http://10.0.1.5:5001,http://10.0.2.5:5001")
	}
	return out, nil
}

// Nodes returns the identities of the consumer's IPFS nodes, in their order.
func (c *Consumer) Nodes() []string { return NodeNames(c.nodes) }

// NodeNames returns the identities (Addr, without credentials) of nodes.
func NodeNames(nodes []*Client) []string {
	out := make([]string, len(nodes))
	for i, n := range nodes {
		out[i] = n.Addr
	}
	return out
}

// Replication returns the replication factor in effect.
func (c *Consumer) Replication() int { return c.factor }

// nodeResult is the outcome of one operation on one node; err is nil, a *transientError, a
// *permanentError, an *errOutage (the node did not answer), or the context's error.
type nodeResult struct {
	node *Client
	err  error
}

// onNodes runs op on every node of nodes at once (a slow node holds up no other) and
// returns the results in the order of nodes, each error sorted by classifyOn.
func (c *Consumer) onNodes(ctx context.Context, nodes []*Client, op func(ctx context.Context, n *Client) error) []nodeResult {
	out := make([]nodeResult, len(nodes))
	if len(nodes) == 1 {
		out[0] = nodeResult{nodes[0], c.classifyOn(ctx, nodes[0], op(ctx, nodes[0]))}
		return out
	}
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Go(func() { out[i] = nodeResult{n, c.classifyOn(ctx, n, op(ctx, n))} })
	}
	wg.Wait()
	return out
}

// failure sums up the results of an operation that no node carried out: the context's
// error, a *transientError when some node refused or failed (naming each node when there
// are several), or an *errOutage when no node answered.
func failure(ctx context.Context, rs []nodeResult) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if len(rs) == 1 {
		return rs[0].err
	}
	var msgs []string
	var outage *errOutage
	for _, r := range rs {
		var te *transientError
		var oe *errOutage
		switch {
		case errors.As(r.err, &te):
			msgs = append(msgs, r.node.Addr+": "+te.msg)
		case errors.As(r.err, &oe):
			outage = oe
			msgs = append(msgs, r.node.Addr+": did not answer")
		case r.err != nil:
			return r.err // permanent, ctx
		}
	}
	if len(msgs) > 0 && (outage == nil || len(msgs) > countOutages(rs)) {
		return &transientError{msg: strings.Join(msgs, "; ")}
	}
	if outage != nil {
		return outage
	}
	return &transientError{msg: "no IPFS node carried out the operation"}
}

func countOutages(rs []nodeResult) int {
	n := 0
	for _, r := range rs {
		var oe *errOutage
		if errors.As(r.err, &oe) {
			n++
		}
	}
	return n
}

// succeeded returns the nodes whose result has no error.
func succeeded(rs []nodeResult) []*Client {
	var out []*Client
	for _, r := range rs {
		if r.err == nil {
			out = append(out, r.node)
		}
	}
	return out
}

// nodeError is the text a replica shows for err: never the raw transport error, which may
// carry the URL's user name.
func nodeError(n *Client, err error) string {
	var te *transientError
	var pe *permanentError
	switch {
	case errors.As(err, &te):
		return te.msg
	case errors.As(err, &pe):
		return reason(pe.err)
	}
	return fmt.Sprintf("IPFS API at %s did not answer: is the daemon running?", n.Addr)
}

// pinReplicas returns replicas updated with the results of pinning on some nodes: PINNED
// where it worked, FAILED with the node's error elsewhere.
func pinReplicas(replicas []modeldao.PinReplica, rs []nodeResult) []modeldao.PinReplica {
	for _, r := range rs {
		rep := modeldao.PinReplica{Node: r.node.Addr, Status: modeldao.PinPinned, UpdatedAt: now()}
		if r.err != nil {
			rep.Status, rep.Error = modeldao.PinFailed, nodeError(r.node, r.err)
		}
		replicas = modeldao.SetReplica(replicas, rep)
	}
	return replicas
}

// unpinReplicas returns replicas updated with the results of unpinning on some nodes:
// UNPINNED where it worked; elsewhere the replica keeps its status with the node's error,
// for Reconcile to unpin there when the node answers again.
func unpinReplicas(replicas []modeldao.PinReplica, rs []nodeResult) []modeldao.PinReplica {
	for _, r := range rs {
		rep := modeldao.PinReplica{Node: r.node.Addr, Status: modeldao.PinUnpinned, UpdatedAt: now()}
		if r.err != nil {
			old, ok := modeldao.Replica(replicas, r.node.Addr)
			if !ok {
				old.Status = modeldao.PinPinned // unknown: assume held, so that it is unpinned later
			}
			rep.Status, rep.Error = old.Status, "unpin pending: "+nodeError(r.node, r.err)
		}
		replicas = modeldao.SetReplica(replicas, rep)
	}
	return replicas
}

// held counts the consumer's nodes whose replica is PINNED (replicas of nodes no longer
// configured do not count).
func (c *Consumer) held(replicas []modeldao.PinReplica) int {
	n := 0
	for _, node := range c.nodes {
		if r, ok := modeldao.Replica(replicas, node.Addr); ok && r.Status == modeldao.PinPinned {
			n++
		}
	}
	return n
}

// replicaSummary is the last error of a DEGRADED pin: which nodes lack it, and why.
func (c *Consumer) replicaSummary(replicas []modeldao.PinReplica) string {
	var msgs []string
	for _, node := range c.nodes {
		r, ok := modeldao.Replica(replicas, node.Addr)
		if !ok || r.Status != modeldao.PinPinned {
			msg := node.Addr + ": not pinned yet"
			if ok && r.Error != "" {
				msg = node.Addr + ": " + r.Error
			}
			msgs = append(msgs, msg)
		}
	}
	if len(msgs) == 0 {
		return ""
	}
	return fmt.Sprintf("held by %d of %d IPFS nodes (replication %d); %s", c.held(replicas), len(c.nodes), c.factor, strings.Join(msgs, "; "))
}

// answering returns the nodes that answer a ping now.
func (c *Consumer) answering(ctx context.Context) []*Client {
	rs := c.onNodes(ctx, c.nodes, func(ctx context.Context, n *Client) error { return n.Ping(ctx) })
	return succeeded(rs)
}

// classifyOn sorts the error of a step that talked to node n: nil and ctx's error as they
// are; store errors unwrapped; *transientError and *permanentError as they are; anything
// else (transport) becomes an *errOutage when n does not answer a ping, or a transient error
// when it does (the connection broke, but the daemon is there: try again later).
func (c *Consumer) classifyOn(ctx context.Context, n *Client, err error) error {
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var se *storeError
	if errors.As(err, &se) {
		return se.err
	}
	var te *transientError
	var pe *permanentError
	if errors.As(err, &te) || errors.As(err, &pe) {
		return err
	}
	if perr := n.Ping(ctx); perr != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &errOutage{err: perr}
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // without the request's URL, which may carry the user name
	}
	return &transientError{msg: fmt.Sprintf("talking to the IPFS API at %s: %v", n.Addr, err)}
}
