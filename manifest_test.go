package modeldao_test

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/modeldao/modeldao"
)

const testCID = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"

func mf(path string, data string) modeldao.ManifestFile {
	s := sha256.Sum256([]byte(data))
	return modeldao.ManifestFile{Path: path, Size: int64(len(data)), SHA256: hex.EncodeToString(s[:]), CID: testCID}
}

func TestManifestCanonical(t *testing.T) {
	a, err := modeldao.NewManifest([]modeldao.ManifestFile{mf("tokenizer.json", "{}"), mf("config.json", "{\"a\":1}"), mf("model-00001-of-00002.safetensors", "x")})
	if err != nil {
		t.Fatal(err)
	}
	b, err := modeldao.NewManifest([]modeldao.ManifestFile{mf("model-00001-of-00002.safetensors", "x"), mf("tokenizer.json", "{}"), mf("config.json", "{\"a\":1}")})
	if err != nil {
		t.Fatal(err)
	}
	ea, _ := a.Encode()
	eb, _ := b.Encode()
	if string(ea) != string(eb) {
		t.Fatalf("the order of the input changed the encoding:\n%s\n%s", ea, eb)
	}
	if a.Files[0].Path != "config.json" || !strings.HasSuffix(string(ea), "}\n") || strings.Contains(string(ea), "\n ") {
		t.Fatalf("not canonical: %s", ea)
	}
	d, _ := a.Digest()
	if d != common.Hash(sha256.Sum256(ea)) {
		t.Fatal("Digest is not the sha256 of Encode")
	}
	got, err := modeldao.ParseManifest(ea, d)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Files) != 3 || got.TotalSize() != 10 {
		t.Fatalf("parsed %+v", got)
	}
	if f, ok := got.File("tokenizer.json"); !ok || f.Size != 2 {
		t.Fatalf("File: %+v %v", f, ok)
	}
	if _, ok := got.File("absent"); ok {
		t.Fatal("File found an absent path")
	}
	// A wrong digest, a non-canonical encoding, unknown fields.
	if _, err := modeldao.ParseManifest(ea, common.Hash{1}); err == nil || !strings.Contains(err.Error(), "does not match the digest on chain") {
		t.Fatalf("wrong digest: %v", err)
	}
	spaced := strings.Replace(string(ea), `","`, `", "`, 1)
	if _, err := modeldao.ParseManifest([]byte(spaced), common.Hash{}); err == nil || !strings.Contains(err.Error(), "canonical") {
		t.Fatalf("non-canonical: %v", err)
	}
	extra := strings.Replace(string(ea), `{"schema"`, `{"x":1,"schema"`, 1)
	if _, err := modeldao.ParseManifest([]byte(extra), common.Hash{}); err == nil {
		t.Fatal("unknown field accepted")
	}
	if _, err := modeldao.ParseManifest([]byte("not json"), common.Hash{}); err == nil {
		t.Fatal("garbage accepted")
	}
}

func TestManifestRules(t *testing.T) {
	for _, c := range []struct {
		files []modeldao.ManifestFile
		want  string
	}{
		{nil, "no files"},
		{[]modeldao.ManifestFile{mf("/etc/passwd", "")}, "absolute"},
		{[]modeldao.ManifestFile{mf("../up", "")}, `contains ".."`},
		{[]modeldao.ManifestFile{mf("a/../../b", "")}, `contains ".."`},
		{[]modeldao.ManifestFile{mf("./a", "")}, `contains "."`},
		{[]modeldao.ManifestFile{mf("a//b", "")}, "empty segment"},
		{[]modeldao.ManifestFile{mf("a/", "")}, "empty segment"},
		{[]modeldao.ManifestFile{mf(`a\b`, "")}, "backslash"},
		{[]modeldao.ManifestFile{mf("C:x", "")}, "drive letter"},
		{[]modeldao.ManifestFile{mf("a\nb", "")}, "control character"},
		{[]modeldao.ManifestFile{mf("\xff", "")}, "UTF-8"},
		{[]modeldao.ManifestFile{mf("", "")}, "empty file path"},
		{[]modeldao.ManifestFile{mf("a", "1"), mf("a", "2")}, "listed twice"},
		{[]modeldao.ManifestFile{mf("a", "1"), mf("a/b", "2")}, "both a file and a directory"},
		{[]modeldao.ManifestFile{mf("manifest.json", "")}, "manifest's own name"},
		{[]modeldao.ManifestFile{{Path: "a", Size: -1, SHA256: strings.Repeat("0", 64), CID: testCID}}, "negative size"},
		{[]modeldao.ManifestFile{{Path: "a", SHA256: strings.Repeat("A", 64), CID: testCID}}, "lower-case hex"},
		{[]modeldao.ManifestFile{{Path: "a", SHA256: strings.Repeat("g", 64), CID: testCID}}, "lower-case hex"},
		{[]modeldao.ManifestFile{{Path: "a", SHA256: strings.Repeat("0", 64), CID: "nope"}}, "not an IPFS CID"},
	} {
		_, err := modeldao.NewManifest(c.files)
		if err == nil || !strings.Contains(err.Error(), c.want) || modeldao.ErrorCode(err) != modeldao.EINVALID {
			t.Errorf("%+v: got %v, want an EINVALID error with %q", c.files, err, c.want)
		}
	}
	// nested paths are fine
	if _, err := modeldao.NewManifest([]modeldao.ManifestFile{mf("a/b/c.json", ""), mf("a/d", ""), mf("manifest.json.bak", "")}); err != nil {
		t.Fatal(err)
	}
	// unsorted files are refused by Validate (NewManifest sorts)
	m := &modeldao.Manifest{Schema: modeldao.ManifestSchema, Files: []modeldao.ManifestFile{mf("b", ""), mf("a", "")}}
	if err := m.Validate(); err == nil || !strings.Contains(err.Error(), "not sorted") {
		t.Fatalf("unsorted: %v", err)
	}
}

func TestReleaseSummary(t *testing.T) {
	s := modeldao.ReleaseSummary{Directory: true, Files: []modeldao.ReleaseFile{
		{ManifestFile: mf("a.safetensors", "12345"), Format: &modeldao.FileFormat{Format: "safetensors", Dtypes: []string{"F16"}, TensorCount: 2, ParameterCount: 10}},
		{ManifestFile: mf("b.safetensors", "123"), Format: &modeldao.FileFormat{Format: "safetensors", Dtypes: []string{"BF16", "F16"}, TensorCount: 1, ParameterCount: 5}},
		{ManifestFile: mf("config.json", "12")},
	}}
	s.Summarize()
	if s.TensorCount != 3 || s.ParameterCount != 15 || s.TotalSize != 10 || strings.Join(s.Dtypes, ",") != "BF16,F16" {
		t.Fatalf("%+v", s)
	}
}

func FuzzParseManifest(f *testing.F) {
	m, _ := modeldao.NewManifest([]modeldao.ManifestFile{mf("config.json", "{}"), mf("a/b.safetensors", "x")})
	enc, _ := m.Encode()
	f.Add(enc)
	f.Add([]byte(`{"schema":"modeldao.manifest/v1","files":[{"path":"../x","size":1,"sha256":"","cid":""}]}` + "\n"))
	f.Add([]byte(`{"schema":"modeldao.manifest/v1","files":null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := modeldao.ParseManifest(b, common.Hash{})
		if err != nil {
			if modeldao.ErrorCode(err) != modeldao.EINVALID {
				t.Fatalf("hostile manifest gave a non-EINVALID error: %v", err)
			}
			return
		}
		// Whatever parses is valid and canonical: it encodes back to the same bytes.
		again, err := got.Encode()
		if err != nil || string(again) != string(b) {
			t.Fatalf("accepted a manifest that does not round-trip: %v", err)
		}
	})
}
