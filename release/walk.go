package release

import (
	"bytes"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/modeldao/modeldao"
)

// What Walk leaves out of a release: version control, caches, lock files and the
// bookkeeping files of modeldao itself. A release holds what a user of the model needs to
// load it, not the publisher's working state.
var (
	skipDirs = []string{".git", ".hg", ".svn", "__pycache__", ".cache", ".ipynb_checkpoints", ".huggingface", PullWorkDir}
	// skipFiles are base names; skipSuffixes are endings of base names.
	skipFiles    = []string{".DS_Store", "Thumbs.db", ProgressFile, CompleteMarker, ".gitattributes.lock"}
	skipSuffixes = []string{".lock", ".pyc", ".tmp", ".part", ".swp", "~"}
)

// Names of modeldao's own files in a release directory.
const (
	// ProgressFile is where publish records the files it added (path, size, mtime, sha256,
	// CID), so that a re-run skips hashing and adding them again.
	ProgressFile = ".modeldao-publish.json"
	// CompleteMarker is written last by Pull, once every file is in place and verified.
	CompleteMarker = ".modeldao-complete.json"
	// PullWorkDir holds Pull's partial downloads.
	PullWorkDir = ".modeldao-pull"
)

// LocalFile is a file of a release directory on disk.
type LocalFile struct {
	Path    string // release path ('/'-separated, relative)
	Abs     string // on disk
	Size    int64
	ModTime time.Time
}

// Skipped tells whether Walk leaves the file or directory named base out.
func Skipped(base string, dir bool) bool {
	if dir {
		return slices.Contains(skipDirs, base)
	}
	if slices.Contains(skipFiles, base) {
		return true
	}
	for _, s := range skipSuffixes {
		if strings.HasSuffix(base, s) {
			return true
		}
	}
	return false
}

// Walk lists the files of the release directory dir, sorted by path, leaving out what
// Skipped says. Symbolic links to files are followed (a Hugging Face cache snapshot is made
// of them); links to directories and other special files are refused. A manifest.json at the
// root that modeldao wrote (a pulled release) is left out, since publish writes it anew; any
// other file of that name is refused.
func Walk(dir string) ([]LocalFile, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, modeldao.WrapError(modeldao.EINVALID, err, "cannot read the release directory %s", dir)
	}
	if !fi.IsDir() {
		return nil, modeldao.Errorf(modeldao.EINVALID, "%s is not a directory", dir)
	}
	var out []LocalFile
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return modeldao.WrapError(modeldao.EINVALID, err, "cannot read %s", p)
		}
		if p == dir {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if Skipped(d.Name(), true) {
				return filepath.SkipDir
			}
			return nil
		}
		if Skipped(d.Name(), false) {
			return nil
		}
		info, err := os.Stat(p) // follows links
		if err != nil {
			return modeldao.WrapError(modeldao.EINVALID, err, "cannot read %s (a dangling link?)", p)
		}
		if info.IsDir() {
			return modeldao.Errorf(modeldao.EINVALID, "%s is a link to a directory: copy the directory in, or link its files one by one", p)
		}
		if !info.Mode().IsRegular() {
			return modeldao.Errorf(modeldao.EINVALID, "%s is not a regular file (%s): remove it from the release directory", p, info.Mode().Type())
		}
		if rel == modeldao.ManifestName {
			if ours(p) {
				return nil
			}
			return modeldao.Errorf(modeldao.EINVALID, "%s: %s at the root of a release is the manifest that publish writes; rename your file", p, modeldao.ManifestName)
		}
		if err := modeldao.ValidateReleasePath(rel); err != nil {
			return err
		}
		out = append(out, LocalFile{Path: rel, Abs: p, Size: info.Size(), ModTime: info.ModTime()})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, modeldao.Errorf(modeldao.EINVALID, "%s holds no files to publish (skipped: %s directories; %s files and *%s)", dir,
			strings.Join(skipDirs, ", "), strings.Join(skipFiles, ", "), strings.Join(skipSuffixes, ", *"))
	}
	slices.SortFunc(out, func(a, b LocalFile) int { return strings.Compare(a.Path, b.Path) })
	return out, nil
}

// ours reports whether the file at p is a modeldao manifest.
func ours(p string) bool {
	b, err := os.ReadFile(p)
	if err != nil || len(b) > modeldao.MaxManifestBytes {
		return false
	}
	_, err = modeldao.ParseManifest(b, [32]byte{})
	return err == nil || bytes.Contains(b[:min(len(b), 64)], []byte(modeldao.ManifestSchema))
}

// mfsDir returns the parent directory of a release path.
func mfsDir(p string) string {
	d := path.Dir(p)
	if d == "." {
		return ""
	}
	return d
}
