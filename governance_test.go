package modeldao

import (
	"math/big"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ethereum/go-ethereum/common"
)

func TestProposalStateAt(t *testing.T) {
	// A proposal created at block 9: snapshot 10, deadline 30, quorum 100.
	base := func(forVotes, against, abstain int64) ProposalParams {
		return ProposalParams{Snapshot: 10, Deadline: 30, Quorum: big.NewInt(100), Tally: Tally{
			For: big.NewInt(forVotes), Against: big.NewInt(against), Abstain: big.NewInt(abstain),
		}}
	}
	won := base(150, 50, 0)
	with := func(p ProposalParams, f func(*ProposalParams)) ProposalParams { f(&p); return p }
	tests := []struct {
		name string
		p    ProposalParams
		head uint64
		want ProposalState
	}{
		{"before the snapshot", won, 9, ProposalPending},
		{"at the snapshot (snapshot >= clock)", won, 10, ProposalPending},
		{"just after the snapshot", won, 11, ProposalActive},
		{"at the deadline (deadline >= clock)", won, 30, ProposalActive},
		{"after the deadline, won", won, 31, ProposalSucceeded},
		{"long after the deadline, won and never queued", won, 1_000_000, ProposalSucceeded},
		{"executed wins over everything", with(won, func(p *ProposalParams) { p.Executed = true; p.Canceled = true }), 5, ProposalExecuted},
		{"canceled while pending", with(won, func(p *ProposalParams) { p.Canceled = true }), 5, ProposalCanceled},
		{"canceled after the deadline", with(won, func(p *ProposalParams) { p.Canceled = true }), 31, ProposalCanceled},
		{"queued", with(won, func(p *ProposalParams) { p.Queued = true }), 40, ProposalQueued},
		{"queued, timelock operation executed directly", with(won, func(p *ProposalParams) { p.Queued = true; p.OpDone = true }), 40, ProposalExecuted},
		{"queued, timelock operation cancelled outside", with(won, func(p *ProposalParams) { p.Queued = true; p.OpCanceled = true }), 40, ProposalCanceled},
		{"operation done but never queued is ignored", with(won, func(p *ProposalParams) { p.OpDone = true }), 40, ProposalSucceeded},
		{"queued flag during voting is ignored", with(won, func(p *ProposalParams) { p.Queued = true }), 20, ProposalActive},
		{"for equals against", base(200, 200, 0), 31, ProposalDefeated},
		{"for one more than against", base(201, 200, 0), 31, ProposalSucceeded},
		{"against wins", base(150, 300, 0), 31, ProposalDefeated},
		{"quorum exactly reached by for", base(100, 0, 0), 31, ProposalSucceeded},
		{"quorum missed by one", base(99, 0, 0), 31, ProposalDefeated},
		{"abstain counts toward quorum", base(60, 0, 40), 31, ProposalSucceeded},
		{"abstain one short of quorum", base(60, 0, 39), 31, ProposalDefeated},
		{"against does not count toward quorum", base(60, 50, 0), 31, ProposalDefeated},
		{"abstain does not count toward the majority", base(10, 20, 500), 31, ProposalDefeated},
		{"no votes at all", base(0, 0, 0), 31, ProposalDefeated},
		{"defeated even if queued were set", with(base(0, 0, 0), func(p *ProposalParams) { p.Queued = true }), 31, ProposalDefeated},
		{"nil quorum and tallies: no votes is defeated", ProposalParams{Snapshot: 10, Deadline: 30}, 31, ProposalDefeated},
		{"nil quorum counts as zero", ProposalParams{Snapshot: 10, Deadline: 30, Tally: Tally{For: big.NewInt(1)}}, 31, ProposalSucceeded},
		{"nil against counts as zero", ProposalParams{Snapshot: 10, Deadline: 30, Quorum: big.NewInt(1), Tally: Tally{For: big.NewInt(1)}}, 31, ProposalSucceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.StateAt(tt.head); got != tt.want {
				t.Fatalf("StateAt(%d) = %v, want %v", tt.head, got, tt.want)
			}
		})
	}
}

func TestProposalParams(t *testing.T) {
	p := &Proposal{Snapshot: 1, Deadline: 2, Quorum: big.NewInt(3), Tally: Tally{For: big.NewInt(4)},
		Canceled: true, Queued: true, Executed: true, OpDone: true, OpCanceled: true}
	want := ProposalParams{Snapshot: 1, Deadline: 2, Quorum: big.NewInt(3), Tally: Tally{For: big.NewInt(4)},
		Canceled: true, Queued: true, Executed: true, OpDone: true, OpCanceled: true}
	if got := p.Params(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Params() = %+v, want %+v", got, want)
	}
}

func TestProposalStateAndSupportNames(t *testing.T) {
	for s := ProposalPending; s <= ProposalExecuted; s++ {
		if got, err := ParseProposalState(strings.ToLower(s.String())); err != nil || got != s {
			t.Errorf("ParseProposalState(%q) = %v, %v", s, got, err)
		}
	}
	if got := ProposalState(8).String(); got != "ProposalState(8)" {
		t.Errorf("ProposalState(8).String() = %q", got)
	}
	if _, err := ParseProposalState("CANCELLED"); ErrorCode(err) != EINVALID {
		t.Errorf("ParseProposalState(CANCELLED) error = %v", err)
	}
	for _, tt := range []struct {
		in   string
		want VoteSupport
	}{{"for", SupportFor}, {"AGAINST", SupportAgainst}, {"Abstain", SupportAbstain}} {
		if got, err := ParseVoteSupport(tt.in); err != nil || got != tt.want || !strings.EqualFold(got.String(), tt.in) {
			t.Errorf("ParseVoteSupport(%q) = %v, %v", tt.in, got, err)
		}
	}
	if _, err := ParseVoteSupport("yes"); ErrorCode(err) != EINVALID {
		t.Errorf("ParseVoteSupport(yes) error = %v", err)
	}
	if got := VoteSupport(3).String(); got != "VoteSupport(3)" {
		t.Errorf("VoteSupport(3).String() = %q", got)
	}
	// The numbers are GovernorCountingSimple's and OZ's ProposalState.
	if SupportAgainst != 0 || SupportFor != 1 || SupportAbstain != 2 || ProposalExecuted != 7 || ProposalExpired != 6 {
		t.Fatal("vote support or proposal state numbering differs from OpenZeppelin's")
	}
}

func TestProposalTitle(t *testing.T) {
	long := strings.Repeat("x", 300)
	tests := []struct {
		description, want string
	}{
		{"# Approve acme/sentiment 1.0.0\n\nThe audit passed.", "Approve acme/sentiment 1.0.0"},
		{"## Adopt policy fair-lending v1\nbody", "Adopt policy fair-lending v1"},
		{"  #   Spaced title  \nbody", "Spaced title"},
		{"Plain first line\nsecond", "Plain first line"},
		{"Title\r\nWindows body", "Title"},
		{"C# models are welcome", "C# models are welcome"},
		{"#", ""},
		{"", ""},
		{"\nTitle on the second line", ""},
		{long, long[:200]},
		{"# " + long + "\nbody", long[:200]},
	}
	for _, tt := range tests {
		if got := ProposalTitle(tt.description); got != tt.want {
			t.Errorf("ProposalTitle(%.40q) = %.40q, want %.40q", tt.description, got, tt.want)
		}
	}
}

// A title is cut at 200 bytes; the cut must not split a UTF-8 sequence, or the API would
// serve invalid text.
func TestProposalTitleKeepsUTF8Valid(t *testing.T) {
	for _, description := range []string{
		strings.Repeat("x", 199) + "é and more",
		strings.Repeat("é", 150),
		strings.Repeat("模型", 80),
	} {
		got := ProposalTitle(description)
		if !utf8.ValidString(got) || len(got) > 200 || !strings.HasPrefix(description, got) {
			t.Errorf("ProposalTitle(%.20q…) = %.20q… (%d bytes, valid UTF-8 %v): want a valid prefix of at most 200 bytes",
				description, got, len(got), utf8.ValidString(got))
		}
	}
}

func TestRecordEndOncePerProposal(t *testing.T) {
	tx1, tx2 := common.HexToHash("0x01"), common.HexToHash("0x02")
	at := func(tx common.Hash, log uint) Provenance {
		return Provenance{BlockNumber: 9, TxHash: tx, LogIndex: log}
	}
	for _, c := range []struct {
		name   string
		events func(p *Proposal)
		want   ProposalChange
	}{
		{"governor executes: the timelock's calls first, then the governor's event", func(p *Proposal) {
			p.RecordEnd("EXECUTED", at(tx1, 3), false)
			p.RecordEnd("EXECUTED", at(tx1, 4), false)
			p.RecordEnd("EXECUTED", at(tx1, 5), true)
		}, ProposalChange{"EXECUTED", at(tx1, 5)}},
		{"timelock executed directly: its first call", func(p *Proposal) {
			p.RecordEnd("EXECUTED", at(tx2, 7), false)
			p.RecordEnd("EXECUTED", at(tx2, 8), false)
		}, ProposalChange{"EXECUTED", at(tx2, 7)}},
		{"governor cancels: its event first, then the timelock's", func(p *Proposal) {
			p.RecordEnd("CANCELED", at(tx1, 1), true)
			p.RecordEnd("CANCELED", at(tx1, 2), false)
		}, ProposalChange{"CANCELED", at(tx1, 1)}},
		{"a governor event of another transaction does not move the entry", func(p *Proposal) {
			p.RecordEnd("EXECUTED", at(tx1, 1), false)
			p.RecordEnd("EXECUTED", at(tx2, 1), true)
		}, ProposalChange{"EXECUTED", at(tx1, 1)}},
	} {
		p := &Proposal{Timeline: []ProposalChange{{Kind: "CREATED"}, {Kind: "QUEUED"}}}
		c.events(p)
		if len(p.Timeline) != 3 || p.Timeline[2] != c.want {
			t.Errorf("%s: timeline %+v, want CREATED QUEUED %+v", c.name, p.Timeline, c.want)
		}
	}
}

func TestQuorumRoundsDownLikeTheGovernor(t *testing.T) {
	for _, c := range []struct{ supply, num, want int64 }{
		{1000, 4, 40}, {999, 4, 39}, {1, 99, 0}, {0, 4, 0}, {12345, 100, 12345},
	} {
		if got := Quorum(big.NewInt(c.supply), big.NewInt(c.num)); got.Int64() != c.want {
			t.Errorf("Quorum(%d, %d) = %v, want %d", c.supply, c.num, got, c.want)
		}
	}
	if got := Quorum(nil, big.NewInt(4)); got.Sign() != 0 {
		t.Errorf("Quorum of a nil supply = %v, want 0", got)
	}
}
