package modeldao

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/ethereum/go-ethereum/common"
)

// NotificationType names what happened, in the outbox and in webhook payloads.
type NotificationType string

// Notification types. Every one but PinFailed and Retracted is derived by the indexer from
// the chain; PinFailed is written by the pinner; Retracted says that a reorg undid an
// earlier notification (Retracts names it).
const (
	NoteProposalCreated   NotificationType = "proposal.created"
	NoteProposalActive    NotificationType = "proposal.active"
	NoteProposalSucceeded NotificationType = "proposal.succeeded"
	NoteProposalDefeated  NotificationType = "proposal.defeated"
	NoteProposalQueued    NotificationType = "proposal.queued"
	NoteProposalExecuted  NotificationType = "proposal.executed"
	NoteProposalCanceled  NotificationType = "proposal.canceled"
	NoteVoteCast          NotificationType = "vote.cast"
	NoteVersionSubmitted  NotificationType = "version.submitted"
	NoteVersionApproved   NotificationType = "version.approved"
	NoteVersionRejected   NotificationType = "version.rejected"
	NoteVersionRevoked    NotificationType = "version.revoked"
	NoteAuditPosted       NotificationType = "audit.posted"
	NotePolicyAdopted     NotificationType = "policy.adopted"
	NotePolicyRetired     NotificationType = "policy.retired"
	NotePinFailed         NotificationType = "pin.failed"
	NoteRetracted         NotificationType = "retracted"
)

// NotificationTypes lists every type an endpoint may subscribe to.
var NotificationTypes = []NotificationType{
	NoteProposalCreated, NoteProposalActive, NoteProposalSucceeded, NoteProposalDefeated,
	NoteProposalQueued, NoteProposalExecuted, NoteProposalCanceled, NoteVoteCast,
	NoteVersionSubmitted, NoteVersionApproved, NoteVersionRejected, NoteVersionRevoked,
	NoteAuditPosted, NotePolicyAdopted, NotePolicyRetired, NotePinFailed, NoteRetracted,
}

// Notification is one entry of the outbox: what happened, where in the chain, and to which
// models. ID is its outbox entry id, unique and increasing: webhooks send it as the
// idempotency key (X-ModelDAO-Event-Id).
type Notification struct {
	ID    string           `json:"id"`
	Type  NotificationType `json:"type"`
	Block uint64           `json:"block"` // the block from which it holds
	// TxHash and LogIndex locate the event it comes from; zero for time-based proposal
	// states (they start at a block, not in a transaction) and for pin failures.
	TxHash   common.Hash     `json:"txHash,omitzero"`
	LogIndex uint            `json:"logIndex,omitempty"`
	Models   []common.Hash   `json:"models,omitempty"` // the models it concerns, if any
	Data     json.RawMessage `json:"data,omitempty"`   // type-specific fields
	// Retracts is the id of the notification a reorg undid (type retracted only).
	Retracts     string           `json:"retracts,omitempty"`
	RetractsType NotificationType `json:"retractsType,omitempty"`
}

// Concerns reports whether n is about model m.
func (n Notification) Concerns(m common.Hash) bool { return slices.Contains(n.Models, m) }

// Webhook is an endpoint registered to receive notifications.
type Webhook struct {
	ID     string             `json:"id"`
	URL    string             `json:"url"`
	Events []NotificationType `json:"events,omitempty"` // empty: every type
	// Model, when set, limits the endpoint to notifications about that model (retractions
	// follow what they retract).
	Model   *common.Hash `json:"model,omitempty"`
	Secret  string       `json:"secret"`  // HMAC key; shown once at creation, never listed
	Created int64        `json:"created"` // Unix ms
	// After is the last outbox entry when the endpoint was added: it receives what happens
	// from then on, not the outbox's whole retained history.
	After string `json:"after,omitempty"`
}

// Wants reports whether the endpoint subscribes to n. A retraction goes to every endpoint
// that wanted what it retracts, so a receiver can undo it.
func (w Webhook) Wants(n Notification) bool {
	if w.After != "" && !OutboxIDAfter(n.ID, w.After) {
		return false // happened before the endpoint was added
	}
	t := n.Type
	if t == NoteRetracted {
		t = n.RetractsType
	}
	if len(w.Events) > 0 && !slices.Contains(w.Events, t) {
		return false
	}
	return w.Model == nil || n.Concerns(*w.Model)
}

// OutboxIDAfter reports whether outbox (Redis stream) id a, "<ms>-<seq>", comes after b.
func OutboxIDAfter(a, b string) bool {
	am, as, _ := strings.Cut(a, "-")
	bm, bs, _ := strings.Cut(b, "-")
	x, _ := strconv.ParseUint(am, 10, 64)
	y, _ := strconv.ParseUint(bm, 10, 64)
	if x != y {
		return x > y
	}
	xs, _ := strconv.ParseUint(as, 10, 64)
	ys, _ := strconv.ParseUint(bs, 10, 64)
	return xs > ys
}

// SecretHint is what listings show of a secret: enough to tell two apart, not to sign.
func (w Webhook) SecretHint() string {
	if len(w.Secret) < 8 {
		return "…"
	}
	return w.Secret[:4] + "…" + w.Secret[len(w.Secret)-2:]
}

// Validate checks an endpoint before it is stored.
func (w Webhook) Validate() error {
	u, err := url.Parse(w.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Errorf(EINVALID, "webhook URL %q is not an absolute http(s) URL: give one like https://example.org/hooks/modeldao", w.URL)
	}
	for _, e := range w.Events {
		if !slices.Contains(NotificationTypes, e) {
			return Errorf(EINVALID, "unknown event %q: use some of %s", e, joinTypes(NotificationTypes))
		}
	}
	return nil
}

// ParseNotificationTypes parses a comma-separated list of types ("" is every type).
func ParseNotificationTypes(s string) ([]NotificationType, error) {
	var out []NotificationType
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		t := NotificationType(f)
		if !slices.Contains(NotificationTypes, t) {
			return nil, Errorf(EINVALID, "unknown event %q: use some of %s", f, joinTypes(NotificationTypes))
		}
		out = append(out, t)
	}
	return out, nil
}

func joinTypes(ts []NotificationType) string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = string(t)
	}
	return fmt.Sprint(strings.Join(s, ","))
}
