package modeldao

import (
	"fmt"
	"strings"

	"github.com/ethereum/go-ethereum/common"
)

// Lineage and training provenance: what a version derives from (its bases and how), and
// the data it was trained and evaluated on, as the registry records them with the version
// (ModelRegistry.Lineage). The chain checks the shape (base counts, existing bases, bounds);
// judging an ancestry, e.g. flagging a derivative of a revoked version, is the API's.

// Relation is how a version derives from its bases. The numeric values are those of the
// registry's RELATION_* constants.
type Relation uint8

const (
	RelationNone         Relation = 0 // an original: no base
	RelationFineTune     Relation = 1 // further training of one base
	RelationAdapter      Relation = 2 // an adapter (LoRA, …) on one base
	RelationQuantization Relation = 3 // the weights of one base at a lower precision
	RelationMerge        Relation = 4 // a merge of two or more distinct bases
	RelationDistillation Relation = 5 // a student trained on one teacher's outputs
)

// Limits of the registry contract (ModelRegistry.MAX_BASES, MAX_DATASETS).
const (
	MaxBases    = 8
	MaxDatasets = 16
)

var relationNames = [...]string{"NONE", "FINE_TUNE", "ADAPTER", "QUANTIZATION", "MERGE", "DISTILLATION"}

func (r Relation) String() string {
	if int(r) < len(relationNames) {
		return relationNames[r]
	}
	return fmt.Sprintf("Relation(%d)", uint8(r))
}

// Valid reports whether r is one of the relations the registry knows.
func (r Relation) Valid() bool { return int(r) < len(relationNames) }

// ParseRelation parses a relation's name, in any case, with '-' or '_' ("fine-tune").
func ParseRelation(s string) (Relation, error) {
	n := strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(s), "-", "_"))
	for i, name := range relationNames {
		if name == n {
			return Relation(i), nil
		}
	}
	return 0, Errorf(EINVALID, "unknown relation %q: use fine-tune, adapter, quantization, merge or distillation (or none)", s)
}

// BaseCountOK reports whether n bases fit the relation: none for NONE, two or more for
// MERGE, exactly one for the others.
func (r Relation) BaseCountOK(n int) bool {
	switch r {
	case RelationNone:
		return n == 0
	case RelationMerge:
		return n >= 2
	}
	return n == 1
}

func (r Relation) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

func (r *Relation) UnmarshalText(b []byte) error {
	v, err := ParseRelation(string(b))
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// DatasetRole is what a dataset was used for; values are the registry's dataset roles.
type DatasetRole uint8

const (
	DatasetTraining   DatasetRole = 0
	DatasetEvaluation DatasetRole = 1
)

func (r DatasetRole) String() string {
	switch r {
	case DatasetTraining:
		return "TRAINING"
	case DatasetEvaluation:
		return "EVALUATION"
	}
	return fmt.Sprintf("DatasetRole(%d)", uint8(r))
}

// ParseDatasetRole parses "training" or "evaluation" (any case; "eval" too).
func ParseDatasetRole(s string) (DatasetRole, error) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "TRAINING", "TRAIN":
		return DatasetTraining, nil
	case "EVALUATION", "EVAL":
		return DatasetEvaluation, nil
	}
	return 0, Errorf(EINVALID, "unknown dataset role %q: use training or evaluation", s)
}

func (r DatasetRole) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

func (r *DatasetRole) UnmarshalText(b []byte) error {
	v, err := ParseDatasetRole(string(b))
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// Dataset is one dataset of a version: its role, a name (e.g. a Hugging Face dataset id),
// the CID of its content and the sha256 of that content.
type Dataset struct {
	Role   DatasetRole `json:"role"`
	Name   Text        `json:"name"`
	CID    Text        `json:"cid"`
	SHA256 common.Hash `json:"sha256"`
}

// Lineage is a version's relation, bases (version ids, in the submitted order) and
// datasets. The zero Lineage is an original without declared datasets.
type Lineage struct {
	Relation Relation  `json:"relation"`
	Bases    []uint64  `json:"bases"`
	Datasets []Dataset `json:"datasets"`
}

// Normalized returns l with nil lists made empty, the form records hold.
func (l Lineage) Normalized() Lineage {
	if l.Bases == nil {
		l.Bases = []uint64{}
	}
	if l.Datasets == nil {
		l.Datasets = []Dataset{}
	}
	return l
}

// Validate applies the registry's rules (ModelRegistry._checkLineage) but for the bases'
// existence, which only the chain knows: a bad lineage fails before a transaction is sent.
func (l Lineage) Validate() error {
	if !l.Relation.Valid() {
		return Errorf(EINVALID, "unknown relation %d", uint8(l.Relation))
	}
	if len(l.Bases) > MaxBases {
		return Errorf(EINVALID, "%d bases; at most %d", len(l.Bases), MaxBases)
	}
	if !l.Relation.BaseCountOK(len(l.Bases)) {
		switch l.Relation {
		case RelationNone:
			return Errorf(EINVALID, "%d bases without a relation: name the relation (e.g. --relation fine-tune)", len(l.Bases))
		case RelationMerge:
			return Errorf(EINVALID, "a merge needs at least two distinct bases; got %d", len(l.Bases))
		}
		return Errorf(EINVALID, "relation %s needs exactly one base; got %d (use merge for several)", l.Relation, len(l.Bases))
	}
	seen := map[uint64]bool{}
	for _, b := range l.Bases {
		if b == 0 {
			return Errorf(EINVALID, "base version id 0: version ids start at 1")
		}
		if seen[b] {
			return Errorf(EINVALID, "base version %d is named twice", b)
		}
		seen[b] = true
	}
	if len(l.Datasets) > MaxDatasets {
		return Errorf(EINVALID, "%d datasets; at most %d", len(l.Datasets), MaxDatasets)
	}
	for _, d := range l.Datasets {
		if d.Role != DatasetTraining && d.Role != DatasetEvaluation {
			return Errorf(EINVALID, "dataset %q: unknown role %d", d.Name, uint8(d.Role))
		}
		if err := checkString("dataset name", string(d.Name), MaxModelNameLength); err != nil {
			return err
		}
		if err := ValidateCID("dataset "+string(d.Name)+" CID", string(d.CID)); err != nil {
			return err
		}
		if d.SHA256 == (common.Hash{}) {
			return Errorf(EINVALID, "dataset %q: sha256 is zero; give the sha256 of the dataset's content", d.Name)
		}
	}
	return nil
}

// TaintDepth is how many levels up an ancestry is searched for a tainting version (the
// taintedAncestry flag, stale approvals): deep enough for any real chain of fine-tunes,
// bounded so that one read cannot walk an unbounded history.
const TaintDepth = 256

// Ancestor is a version of another's ancestry and how many levels up it is (1: a base).
type Ancestor struct {
	Depth   int
	Version *ModelVersion
}

// Tainting reports whether an ancestor in status s flags its descendants' ancestry: the DAO
// revoked or rejected it, so whatever derives from it inherits the doubt.
func Tainting(s VersionStatus) bool { return s == VersionRevoked || s == VersionRejected }
