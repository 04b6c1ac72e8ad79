package store

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sort"
	"strconv"

	"github.com/ethereum/go-ethereum/common"
	"github.com/redis/go-redis/v9"

	"github.com/modeldao/modeldao"
)

// The outbox is the log of what happened, for webhooks (package notify reads it). The
// indexer appends to it in the same MULTI/EXEC as the batch and its checkpoint, so a
// notification exists exactly when the projection shows what it announces; a rollback
// appends, in its own transaction, a `retracted` entry for each live notification above the
// common ancestor. The pinner appends pin.failed with the pin record it writes.
//
// Each chain-derived entry records the block from which it holds (field "at"): the block of
// its event, or for a time-based proposal state (active, succeeded, defeated) the first block
// where Governor.state() answers it (snapshot+1, deadline+1), whatever the batch boundaries.
// Live entries are in increasing "at" order, so a rollback finds what to retract by reading
// the stream backwards until a live entry at or below the ancestor.
//
// outbox:high is the highest block whose notifications are in the outbox. A commit derives
// notifications only for blocks above it, so a `reindex` (Drop keeps the outbox, the
// notifier's state and the endpoints) or a replay of blocks already announced announces
// nothing twice; a rollback lowers it to the ancestor.
//
// The outbox is a log, not projection state: it depends on what the indexer saw (reorgs,
// reindexes), not only on the chain, so it stays out of the digest (nonDigest), like the pin
// queue.

// OutboxRetention is the approximate number of entries the outbox keeps (XADD MAXLEN ~). The
// notifier fans entries out within seconds; the retention only has to cover a notifier that
// is down (at a few entries a block, 100k entries are days of a busy DAO) and the deepest
// rollback (the undo window), whose retractions need the entries they retract.
var OutboxRetention int64 = 100_000

// note is a notification the batch derived, before it gets its stream id.
type note struct {
	n   modeldao.Notification
	ord uint64 // order inside its block: 0 for block-start states, logIndex+1 for events
}

// noteEvent derives the notification of an applied event, if it has one.
func (b *Batch) noteEvent(ev modeldao.Event) {
	at := ev.Prov()
	var t modeldao.NotificationType
	var data any
	var models []common.Hash
	switch e := ev.(type) {
	case *modeldao.ProposalCreated:
		t, data, models = modeldao.NoteProposalCreated, map[string]any{"proposalId": e.ProposalID.String(), "proposer": e.Proposer, "title": modeldao.ProposalTitle(e.Description), "voteStart": e.VoteStart, "voteEnd": e.VoteEnd}, b.proposalModels(e.ProposalID.String())
	case *modeldao.ProposalQueuedEvent:
		t, data, models = modeldao.NoteProposalQueued, map[string]any{"proposalId": e.ProposalID.String(), "eta": e.Eta}, b.proposalModels(e.ProposalID.String())
	case *modeldao.ProposalExecutedEvent:
		t, data, models = modeldao.NoteProposalExecuted, map[string]any{"proposalId": e.ProposalID.String()}, b.proposalModels(e.ProposalID.String())
	case *modeldao.ProposalCanceledEvent:
		t, data, models = modeldao.NoteProposalCanceled, map[string]any{"proposalId": e.ProposalID.String()}, b.proposalModels(e.ProposalID.String())
	case *modeldao.VoteCast:
		t, data, models = modeldao.NoteVoteCast, map[string]any{"proposalId": e.ProposalID.String(), "voter": e.Voter, "support": e.Support.String(), "weight": e.Weight.String(), "reason": modeldao.Text(e.Reason)}, b.proposalModels(e.ProposalID.String())
	case *modeldao.VersionSubmittedEvent:
		lin := e.Submission.Lineage.Normalized()
		t, data = modeldao.NoteVersionSubmitted, map[string]any{"versionId": e.VersionID, "modelId": e.ModelID, "publisher": e.Publisher, "label": modeldao.Text(e.Submission.Label),
			"relation": lin.Relation, "bases": lin.Bases}
		models = b.derivativeModels(e.ModelID, lin.Bases)
	case *modeldao.VersionApprovedEvent:
		t, data, models = modeldao.NoteVersionApproved, map[string]any{"versionId": e.VersionID, "policyId": e.PolicyID, "auditId": e.AuditID}, b.versionModels(e.VersionID)
	case *modeldao.VersionRejectedEvent:
		t, data, models = modeldao.NoteVersionRejected, map[string]any{"versionId": e.VersionID, "reason": modeldao.Text(e.Reason)}, b.versionModels(e.VersionID)
	case *modeldao.VersionRevokedEvent:
		if at.BlockNumber <= b.outboxHigh {
			return // announced before: no need to walk the derivatives
		}
		tainted := b.derivativesOf(e.VersionID)
		models = b.versionModels(e.VersionID)
		for _, id := range tainted {
			for _, m := range b.versionModels(id) {
				if !containsHash(models, m) {
					models = append(models, m)
				}
			}
		}
		t, data = modeldao.NoteVersionRevoked, map[string]any{"versionId": e.VersionID, "reason": modeldao.Text(e.Reason), "tainted": tainted}
	case *modeldao.AuditSubmitted:
		a := e.Audit
		t, data, models = modeldao.NoteAuditPosted, map[string]any{"auditId": a.ID, "versionId": a.VersionID, "policyId": a.PolicyID, "auditor": a.Auditor, "passed": a.Passed}, b.versionModels(a.VersionID)
	case *modeldao.PolicyAdopted:
		t, data = modeldao.NotePolicyAdopted, map[string]any{"policyId": e.Policy.ID, "name": e.Policy.Name}
	case *modeldao.PolicyRetired:
		t, data = modeldao.NotePolicyRetired, map[string]any{"policyId": e.PolicyID}
	default:
		return
	}
	b.addNote(t, at.BlockNumber, at.TxHash, at.LogIndex, uint64(at.LogIndex)+1, models, data)
}

// noteState derives the notifications of a proposal whose state refreshProposals moves from
// p.State to st. Queued, executed and canceled come from their events (noteEvent); this
// adds the time-based states, including those a batch spanning several of them skipped.
func (b *Batch) noteState(p *modeldao.Proposal, st modeldao.ProposalState) {
	old := p.State
	data := map[string]any{"proposalId": p.ID}
	models := b.proposalModels(p.ID)
	if old == modeldao.ProposalPending && st != modeldao.ProposalCanceled && st != modeldao.ProposalPending {
		b.addNote(modeldao.NoteProposalActive, p.Snapshot+1, common.Hash{}, 0, 0, models, data)
	}
	if old != modeldao.ProposalPending && old != modeldao.ProposalActive {
		return
	}
	switch st {
	case modeldao.ProposalDefeated:
		b.addNote(modeldao.NoteProposalDefeated, p.Deadline+1, common.Hash{}, 0, 0, models, data)
	case modeldao.ProposalSucceeded, modeldao.ProposalQueued, modeldao.ProposalExecuted, modeldao.ProposalExpired:
		b.addNote(modeldao.NoteProposalSucceeded, p.Deadline+1, common.Hash{}, 0, 0, models, data)
	}
}

func (b *Batch) addNote(t modeldao.NotificationType, block uint64, tx common.Hash, logIndex uint, ord uint64, models []common.Hash, data any) {
	if block <= b.outboxHigh {
		return // announced before (a replay after reindex or of an unchanged block)
	}
	buf, _ := json.Marshal(data)
	b.notes = append(b.notes, note{n: modeldao.Notification{Type: t, Block: block, TxHash: tx, LogIndex: logIndex, Models: models, Data: buf}, ord: ord})
}

// proposalModels returns the models of the versions a proposal concerns.
func (b *Batch) proposalModels(id string) []common.Hash {
	p, existed, err := load[modeldao.Proposal](b, b.s.keys.ProposalRecords(), id, false)
	if err != nil {
		b.fail(err)
		return nil
	}
	if !existed && p.ID == "" {
		return nil
	}
	var out []common.Hash
	for _, v := range p.VersionIDs {
		for _, m := range b.versionModels(v) {
			if !containsHash(out, m) {
				out = append(out, m)
			}
		}
	}
	return out
}

// derivativeModels returns the models a new version concerns: its own, and its bases'
// (whoever follows a model hears of its fine-tunes, quantizations and merges).
func (b *Batch) derivativeModels(model common.Hash, bases []uint64) []common.Hash {
	out := []common.Hash{model}
	for _, base := range bases {
		for _, m := range b.versionModels(base) {
			if !containsHash(out, m) {
				out = append(out, m)
			}
		}
	}
	return out
}

// derivativesOf returns the versions derived from id, from theirs, and so on for
// modeldao.TaintDepth levels, by id: those a revocation of id taints. Each level is one
// pipelined read of the derivative indexes (versions of earlier batches) and a look through
// the batch's own records (versions submitted earlier in this batch, whose index writes are
// not in Redis yet). A revocation is rare, so this costs the batch nothing otherwise.
func (b *Batch) derivativesOf(id uint64) []uint64 {
	seen := map[uint64]bool{id: true}
	out := []uint64{} // a list in the notification's JSON, even when empty
	records := b.s.keys.VersionRecords()
	level := []uint64{id}
	for depth := 0; depth < modeldao.TaintDepth && len(level) > 0; depth++ {
		pipe := b.conn.Pipeline()
		cmds := make([]*redis.StringSliceCmd, len(level))
		for i, v := range level {
			cmds[i] = pipe.ZRange(b.ctx, b.s.keys.VersionsDerivedFrom(v), 0, -1)
		}
		b.reads++
		if _, err := pipe.Exec(b.ctx); err != nil && !errors.Is(err, redis.Nil) {
			b.fail(redisDown(err, "read derivative indexes"))
			return nil
		}
		bases := map[uint64]bool{}
		for _, v := range level {
			bases[v] = true
		}
		var next []uint64
		add := func(v uint64) {
			if !seen[v] {
				seen[v] = true
				next = append(next, v)
			}
		}
		for _, c := range cmds {
			for _, m := range c.Val() {
				if v, err := strconv.ParseUint(m, 10, 64); err == nil {
					add(v)
				}
			}
		}
		for r, e := range b.entities {
			if r.key != records {
				continue
			}
			if v, ok := e.v.(*modeldao.ModelVersion); ok && v.ID != 0 && slices.ContainsFunc(v.Bases, func(base uint64) bool { return bases[base] }) {
				add(v.ID)
			}
		}
		slices.Sort(next)
		out = append(out, next...)
		level = next
	}
	slices.Sort(out)
	return out
}

func (b *Batch) versionModels(id uint64) []common.Hash {
	v, existed, err := load[modeldao.ModelVersion](b, b.s.keys.VersionRecords(), decimal(id), false)
	if err != nil {
		b.fail(err)
		return nil
	}
	if !existed && v.ID == 0 {
		return nil
	}
	return []common.Hash{v.ModelID}
}

func containsHash(hs []common.Hash, h common.Hash) bool {
	for _, x := range hs {
		if x == h {
			return true
		}
	}
	return false
}

// loadOutboxHigh reads outbox:high into the batch, from the batch's prefetch (one round
// trip for all the batch reads), before any block is applied.
func (b *Batch) loadOutboxHigh() error {
	v, err := b.get(fieldRef{b.s.keys.OutboxHigh(), ""}, true)
	if err != nil {
		return err
	}
	b.outboxHigh, _ = strconv.ParseUint(v.s, 10, 64)
	return nil
}

// writeOutbox queues, in the commit's MULTI, the batch's notifications in chain order and
// the new outbox mark.
func (b *Batch) writeOutbox(w *multiWriter, checkpoint uint64) {
	sort.SliceStable(b.notes, func(i, j int) bool {
		x, y := b.notes[i], b.notes[j]
		if x.n.Block != y.n.Block {
			return x.n.Block < y.n.Block
		}
		return x.ord < y.ord
	})
	for _, n := range b.notes {
		w.xadd(b.s.outboxXAdd(n.n))
	}
	if checkpoint > b.outboxHigh {
		w.do("set", b.s.keys.OutboxHigh(), strconv.FormatUint(checkpoint, 10))
	}
}

// xaddOutbox appends n; its stream fields are "at" (the block, absent for entries a
// rollback never retracts) and "n" (the JSON notification, without its id).
func (s *Store) xaddOutbox(ctx context.Context, p redis.Pipeliner, n modeldao.Notification) {
	p.XAdd(ctx, s.outboxXAdd(n))
}

// outboxXAdd is the XADD of n, for xaddOutbox and the commit's multiWriter.
func (s *Store) outboxXAdd(n modeldao.Notification) *redis.XAddArgs {
	buf, _ := json.Marshal(n)
	vals := []any{"n", string(buf)}
	if n.Block > 0 && n.Type != modeldao.NoteRetracted && n.Type != modeldao.NotePinFailed {
		vals = append(vals, "at", strconv.FormatUint(n.Block, 10))
	}
	return &redis.XAddArgs{Stream: s.keys.Outbox(), MaxLen: OutboxRetention, Approx: true, Values: vals}
}

// retractions reads, on the watched connection of a rollback to ancestor, the live
// notifications above it, newest first, and returns their retractions.
func (s *Store) retractions(ctx context.Context, tx *redis.Tx, ancestor uint64) ([]modeldao.Notification, error) {
	var out []modeldao.Notification
	retracted := map[string]bool{}
	end := "+"
	for {
		msgs, err := tx.XRevRangeN(ctx, s.keys.Outbox(), end, "-", 200).Result()
		if err != nil {
			return nil, redisDown(err, "read the outbox")
		}
		for _, m := range msgs {
			n, at, err := decodeOutbox(m)
			if err != nil {
				return nil, err
			}
			switch {
			case n.Type == modeldao.NoteRetracted:
				retracted[n.Retracts] = true
			case at == 0 || retracted[m.ID]:
			case at <= ancestor:
				return out, nil
			default:
				out = append(out, modeldao.Notification{Type: modeldao.NoteRetracted, Block: ancestor, Models: n.Models,
					Retracts: m.ID, RetractsType: n.Type, Data: n.Data})
			}
		}
		if len(msgs) < 200 {
			return out, nil
		}
		end = "(" + msgs[len(msgs)-1].ID
	}
}

func decodeOutbox(m redis.XMessage) (modeldao.Notification, uint64, error) {
	var n modeldao.Notification
	raw, _ := m.Values["n"].(string)
	if err := json.Unmarshal([]byte(raw), &n); err != nil {
		return n, 0, modeldao.WrapError(modeldao.EINTERNAL, err, "outbox entry %s is corrupt", m.ID)
	}
	n.ID = m.ID
	var at uint64
	if s, ok := m.Values["at"].(string); ok {
		at, _ = strconv.ParseUint(s, 10, 64)
	}
	return n, at, nil
}

// ReadOutbox returns up to count notifications after the entry id after ("" or "0": from the
// oldest kept).
func (s *Store) ReadOutbox(ctx context.Context, after string, count int64) ([]modeldao.Notification, error) {
	if after == "" {
		after = "0"
	}
	msgs, err := s.rdb.XRangeN(ctx, s.keys.Outbox(), "("+after, "+", count).Result()
	if err != nil {
		return nil, redisDown(err, "read the outbox")
	}
	out := make([]modeldao.Notification, 0, len(msgs))
	for _, m := range msgs {
		n, _, err := decodeOutbox(m)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

// notePinFailed appends pin.failed for a version whose pin record p says so, in pipe.
func (s *Store) notePinFailed(ctx context.Context, pipe redis.Pipeliner, p modeldao.Pin) {
	var models []common.Hash
	if v, err := s.VersionForPin(ctx, p.VersionID); err == nil && v != nil {
		models = []common.Hash{v.ModelID}
	}
	data, _ := json.Marshal(map[string]any{"versionId": p.VersionID, "cid": p.CID, "attempts": p.Attempts, "error": p.LastError})
	s.xaddOutbox(ctx, pipe, modeldao.Notification{Type: modeldao.NotePinFailed, Models: models, Data: data})
}
