package modeldao

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ethereum/go-ethereum/common"
)

// A release is the content of a model version. It is either one file (the weights CID is a
// UnixFS file and weightsSha256 is the sha256 of its bytes, as before releases had several
// files) or a UnixFS directory in the Hugging Face layout (shards, config.json, tokenizer
// files, …) with a manifest at its root, ManifestName, that lists every other file. For a
// directory, the registry's weightsSha256 is the sha256 of the manifest's canonical encoding:
// the chain anchors the manifest, and the manifest anchors every file. Which of the two a
// version is, is told by what its CID resolves to (file or directory), so versions published
// before releases existed keep their meaning and no contract change is needed.

// ManifestName is the name of the manifest at the root of a release directory.
const ManifestName = "manifest.json"

// ManifestSchema is the value of Manifest.Schema: it names the encoding, so that a later one
// can be told apart.
const ManifestSchema = "modeldao.manifest/v1"

// Limits of a manifest, so that a hostile one cannot exhaust whoever reads it.
const (
	MaxManifestFiles  = 10000
	MaxManifestBytes  = 4 << 20
	MaxReleasePathLen = 1024
)

// ManifestFile is one file of a release.
type ManifestFile struct {
	// Path is relative to the release's root, '/'-separated, e.g. "model-00001-of-00002.safetensors".
	Path string `json:"path"`
	Size int64  `json:"size"`
	// SHA256 is the lower-case hex sha256 of the file's bytes (as sha256sum prints it).
	SHA256 string `json:"sha256"`
	// CID is the file's own CID (CIDv1, raw leaves): a reader may fetch the file by it alone.
	CID string `json:"cid"`
}

// Manifest lists the files of a release directory, sorted by path. ManifestName itself is
// not listed.
type Manifest struct {
	Schema string         `json:"schema"`
	Files  []ManifestFile `json:"files"`
}

// NewManifest returns the manifest of files, sorted by path and validated.
func NewManifest(files []ManifestFile) (*Manifest, error) {
	m := &Manifest{Schema: ManifestSchema, Files: slices.Clone(files)}
	slices.SortFunc(m.Files, func(a, b ManifestFile) int { return strings.Compare(a.Path, b.Path) })
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return m, nil
}

// Validate checks the manifest's rules: the schema, at least one file, files sorted by path
// without duplicates, every path valid (ValidateReleasePath) and not ManifestName, no path
// that is both a file and a directory, sizes >= 0, sha256 as 64 lower-case hex digits, a
// CID on every file.
func (m *Manifest) Validate() error {
	if m.Schema != ManifestSchema {
		return Errorf(EINVALID, "manifest schema %q: want %q", m.Schema, ManifestSchema)
	}
	if len(m.Files) == 0 {
		return Errorf(EINVALID, "the manifest lists no files: a release needs at least one")
	}
	if len(m.Files) > MaxManifestFiles {
		return Errorf(EINVALID, "the manifest lists %d files: at most %d are allowed", len(m.Files), MaxManifestFiles)
	}
	dirs := map[string]bool{}
	for i, f := range m.Files {
		if err := ValidateReleasePath(f.Path); err != nil {
			return err
		}
		if f.Path == ManifestName {
			return Errorf(EINVALID, "file %q: %s is the manifest's own name at the root of a release; rename the file", f.Path, ManifestName)
		}
		if i > 0 {
			switch c := strings.Compare(m.Files[i-1].Path, f.Path); {
			case c == 0:
				return Errorf(EINVALID, "file %q is listed twice in the manifest", f.Path)
			case c > 0:
				return Errorf(EINVALID, "manifest files are not sorted by path: %q comes after %q", f.Path, m.Files[i-1].Path)
			}
		}
		for d := f.Path; ; {
			j := strings.LastIndexByte(d, '/')
			if j < 0 {
				break
			}
			d = d[:j]
			dirs[d] = true
		}
		if f.Size < 0 {
			return Errorf(EINVALID, "file %q: negative size %d", f.Path, f.Size)
		}
		if len(f.SHA256) != 64 || strings.ToLower(f.SHA256) != f.SHA256 {
			return Errorf(EINVALID, "file %q: sha256 %q is not 64 lower-case hex digits", f.Path, f.SHA256)
		}
		if _, err := hex.DecodeString(f.SHA256); err != nil {
			return Errorf(EINVALID, "file %q: sha256 %q is not 64 lower-case hex digits", f.Path, f.SHA256)
		}
		if err := ValidateCID("file "+f.Path+" CID", f.CID); err != nil {
			return err
		}
	}
	for _, f := range m.Files {
		if dirs[f.Path] {
			return Errorf(EINVALID, "%q is both a file and a directory in the manifest", f.Path)
		}
	}
	return nil
}

// ValidateReleasePath checks a path of a file in a release: relative, '/'-separated, no
// empty, "." or ".." segment, no backslash, no control character, valid UTF-8, at most
// MaxReleasePathLen bytes. Such a path is the same on every system that writes it.
func ValidateReleasePath(p string) error {
	switch {
	case p == "":
		return Errorf(EINVALID, "empty file path in the release")
	case len(p) > MaxReleasePathLen:
		return Errorf(EINVALID, "file path %.60q… is %d bytes long: at most %d are allowed", p, len(p), MaxReleasePathLen)
	case !utf8.ValidString(p):
		return Errorf(EINVALID, "file path %q is not valid UTF-8", p)
	case strings.HasPrefix(p, "/"):
		return Errorf(EINVALID, "file path %q is absolute: paths are relative to the release's root", p)
	case strings.Contains(p, `\`):
		return Errorf(EINVALID, "file path %q contains a backslash: use '/' between directories", p)
	case len(p) >= 2 && p[1] == ':':
		return Errorf(EINVALID, "file path %q looks like a drive letter: paths are relative to the release's root", p)
	}
	for _, r := range p {
		if unicode.IsControl(r) {
			return Errorf(EINVALID, "file path %q contains a control character", p)
		}
	}
	for _, seg := range strings.Split(p, "/") {
		switch seg {
		case "":
			return Errorf(EINVALID, "file path %q has an empty segment (a leading, trailing or double '/')", p)
		case ".", "..":
			return Errorf(EINVALID, "file path %q contains %q: paths may not leave or name the current directory", p, seg)
		}
	}
	return nil
}

// Encode returns the canonical encoding of the manifest: compact JSON with the fields in
// declaration order, files sorted by path, and a final newline. Its sha256 is the digest the
// registry anchors (Digest).
func (m *Manifest) Encode() ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf) // Encode appends the newline
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return nil, WrapError(EINTERNAL, err, "encoding the manifest")
	}
	return buf.Bytes(), nil
}

// Digest returns the sha256 of the canonical encoding.
func (m *Manifest) Digest() (common.Hash, error) {
	b, err := m.Encode()
	if err != nil {
		return common.Hash{}, err
	}
	return sha256.Sum256(b), nil
}

// TotalSize is the sum of the files' sizes.
func (m *Manifest) TotalSize() int64 {
	var n int64
	for _, f := range m.Files {
		n += f.Size
	}
	return n
}

// File returns the file at path p, or false.
func (m *Manifest) File(p string) (ManifestFile, bool) {
	i, ok := slices.BinarySearchFunc(m.Files, p, func(f ManifestFile, p string) int { return strings.Compare(f.Path, p) })
	if !ok {
		return ManifestFile{}, false
	}
	return m.Files[i], true
}

// ParseManifest parses b, the bytes of a manifest.json, checks it against want (the digest on
// chain) and the manifest's rules, and that b is the canonical encoding (so that one manifest
// has one digest). A zero want skips the digest check.
func ParseManifest(b []byte, want common.Hash) (*Manifest, error) {
	if len(b) > MaxManifestBytes {
		return nil, Errorf(EINVALID, "%s is %d bytes: at most %d are allowed", ManifestName, len(b), MaxManifestBytes)
	}
	if want != (common.Hash{}) {
		if got := common.Hash(sha256.Sum256(b)); got != want {
			return nil, Errorf(EINVALID, "%s does not match the digest on chain: its sha256 is %s, the registry says %s", ManifestName, got.Hex(), want.Hex())
		}
	}
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, WrapError(EINVALID, err, "%s is not a valid manifest", ManifestName)
	}
	if err := m.Validate(); err != nil {
		return nil, WrapError(EINVALID, err, "%s breaks the manifest rules: %s", ManifestName, ErrorMessage(err))
	}
	canon, _ := m.Encode()
	if !bytes.Equal(canon, b) {
		return nil, Errorf(EINVALID, "%s is not in the canonical encoding (compact JSON, files sorted by path, one final newline): re-create it with modeldao publish", ManifestName)
	}
	return &m, nil
}

// FileFormat is what a file's header says about its tensors. Only safetensors files have
// one; other files are listed without.
type FileFormat struct {
	Format         string   `json:"format"` // "safetensors"
	Dtypes         []string `json:"dtypes"` // sorted
	TensorCount    int64    `json:"tensorCount"`
	ParameterCount int64    `json:"parameterCount"`
}

// ReleaseFile is a file of a verified release with its format, if known.
type ReleaseFile struct {
	ManifestFile
	Format *FileFormat `json:"format,omitempty"`
	// FormatError says why a file named like a known format could not be read as one.
	FormatError string `json:"formatError,omitempty"`
}

// ReleaseSummary is what the pinner learnt of a version's release after verifying it: the
// files, their formats, and the totals over the safetensors files. Directory is false for a
// single-file version (then Files is empty).
type ReleaseSummary struct {
	VersionID      uint64        `json:"versionId"`
	Directory      bool          `json:"directory"`
	Files          []ReleaseFile `json:"files"`
	Dtypes         []string      `json:"dtypes"`
	TensorCount    int64         `json:"tensorCount"`
	ParameterCount int64         `json:"parameterCount"`
	TotalSize      int64         `json:"totalSize"`
}

// Summarize fills the totals of s from its files.
func (s *ReleaseSummary) Summarize() {
	s.Dtypes, s.TensorCount, s.ParameterCount, s.TotalSize = nil, 0, 0, 0
	for _, f := range s.Files {
		s.TotalSize += f.Size
		if f.Format == nil {
			continue
		}
		s.TensorCount += f.Format.TensorCount
		s.ParameterCount += f.Format.ParameterCount
		for _, d := range f.Format.Dtypes {
			if !slices.Contains(s.Dtypes, d) {
				s.Dtypes = append(s.Dtypes, d)
			}
		}
	}
	slices.Sort(s.Dtypes)
}
