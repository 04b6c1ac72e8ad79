package graphql

import (
	"context"
	"sync"
	"time"

	"github.com/modeldao/modeldao/store"
)

// Every request reads the checkpoint first: the response cache to know whether a stored
// answer is still right, a computed request to read the index at one checkpoint. Under load
// many requests arrive while one GET is on its way to Redis; checkpointReads lets them share
// the next one. A request waits for a GET that was sent after it arrived, so it sees every
// commit that finished before it arrived, exactly as its own GET would: sharing changes how
// many GETs reach Redis (about one per round trip instead of one per request), not what a
// request may see.

// checkpointReadTimeout bounds one shared GET; each request also stops waiting when its own
// context ends.
const checkpointReadTimeout = 2 * time.Second

type checkpointReads struct {
	store *store.Store

	mu      sync.Mutex
	reading bool            // a GET is on its way
	next    *checkpointRead // the GET to send when it returns, with the requests that wait for it
}

// checkpointRead is one shared GET: done is closed when cp is set.
type checkpointRead struct {
	done   chan struct{}
	cp     string // "" when nothing is indexed or Redis failed
	joined int    // requests that joined it while the previous GET was on its way
}

func newCheckpointReads(st *store.Store) *checkpointReads { return &checkpointReads{store: st} }

// get returns the checkpoint as read after the call began ("" when nothing is indexed or
// Redis failed, then the caller reads without it), or "" when ctx ends first.
func (c *checkpointReads) get(ctx context.Context) string {
	c.mu.Lock()
	var r *checkpointRead
	if !c.reading {
		// Nothing on its way: send one now, for this request and those that join it.
		c.reading = true
		r = &checkpointRead{done: make(chan struct{})}
		c.mu.Unlock()
		go c.send(r)
	} else {
		// The GET on its way may have left before this request arrived: wait for the next.
		if c.next == nil {
			c.next = &checkpointRead{done: make(chan struct{})}
		}
		r = c.next
		r.joined++
		c.mu.Unlock()
	}
	select {
	case <-r.done:
		return r.cp
	case <-ctx.Done():
		return ""
	}
}

// send sends r's GET, then the next one while requests wait for it.
func (c *checkpointReads) send(r *checkpointRead) {
	for r != nil {
		ctx, cancel := context.WithTimeout(context.Background(), checkpointReadTimeout)
		if cp, ok, err := c.store.Checkpoint(ctx); err == nil && ok {
			r.cp = cp.String()
		}
		cancel()
		close(r.done)
		c.mu.Lock()
		r, c.next = c.next, nil
		c.reading = r != nil
		c.mu.Unlock()
	}
}
