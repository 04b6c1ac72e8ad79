package safetensors_test

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/safetensors"
)

func file(t testing.TB, tensors []safetensors.Tensor) []byte {
	t.Helper()
	h, err := safetensors.Encode(tensors, map[string]string{"format": "pt"})
	if err != nil {
		t.Fatal(err)
	}
	return append(h, make([]byte, safetensors.DataSize(tensors))...)
}

func TestReadHeader(t *testing.T) {
	ts := []safetensors.Tensor{
		{Name: "embed.weight", Dtype: "F16", Shape: []uint64{16, 8}},
		{Name: "lm_head.weight", Dtype: "BF16", Shape: []uint64{8, 16}},
		{Name: "norm.bias", Dtype: "F32", Shape: []uint64{8}},
		{Name: "scalar", Dtype: "I64", Shape: []uint64{}},
	}
	b := file(t, ts)
	h, err := safetensors.ReadHeader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	f := h.Format()
	if f.TensorCount != 4 || f.ParameterCount != 128+128+8+1 || strings.Join(f.Dtypes, ",") != "BF16,F16,F32,I64" || f.Format != "safetensors" {
		t.Fatalf("%+v", f)
	}
	if h.Metadata["format"] != "pt" || h.DataStart()%8 != 0 {
		t.Fatalf("metadata %v, data start %d", h.Metadata, h.DataStart())
	}
	// Without the file's size (a stream): the same summary.
	if h2, err := safetensors.ReadHeader(bytes.NewReader(b), 0); err != nil || h2.Format().ParameterCount != f.ParameterCount {
		t.Fatalf("%v %v", h2, err)
	}
}

func TestHostileHeaders(t *testing.T) {
	withLen := func(n uint64, js string) []byte {
		return append(binary.LittleEndian.AppendUint64(nil, n), js...)
	}
	hdr := func(js string) []byte { return withLen(uint64(len(js)), js) }
	good := file(t, []safetensors.Tensor{{Name: "a", Dtype: "F32", Shape: []uint64{2}}})
	for _, c := range []struct {
		name string
		b    []byte
		size int64
		want string
	}{
		{"empty", nil, 0, "shorter than the 8-byte"},
		{"huge length", withLen(1<<40, "{}"), 0, "outside 2..104857600"},
		{"length past file", withLen(1000, "{}"), 10, "larger than the file"},
		{"truncated", withLen(100, "{}"), 0, "truncated"},
		{"not json", hdr("[1,2]"), 0, "not a JSON object"},
		{"no tensors", hdr(`{"__metadata__":{"a":"b"}}`), 0, "no tensors"},
		{"bad metadata", hdr(`{"__metadata__":{"a":1}}`), 0, "map of strings"},
		{"unknown dtype", hdr(`{"a":{"dtype":"F128","shape":[1],"data_offsets":[0,16]}}`), 0, "unknown dtype"},
		{"missing field", hdr(`{"a":{"dtype":"F32","shape":[1]}}`), 0, "all required"},
		{"extra field", hdr(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1}}`), 0, "want {dtype"},
		{"negative dim", hdr(`{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}`), 0, "want {dtype"},
		{"overflow", hdr(`{"a":{"dtype":"F32","shape":[4294967296,4294967296,4],"data_offsets":[0,4]}}`), 0, "too many elements"},
		{"wrong size", hdr(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}`), 0, "needs 8 bytes"},
		{"reversed", hdr(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}`), 0, "end before they begin"},
		{"offsets arity", hdr(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0]}}`), 0, "[begin, end]"},
		{"overlap", hdr(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`), 0, "overlaps"},
		{"data past file", good[:len(good)-1], int64(len(good) - 1), "cover 8 bytes"},
	} {
		_, err := safetensors.ReadHeader(bytes.NewReader(c.b), c.size)
		if err == nil || !strings.Contains(err.Error(), c.want) || modeldao.ErrorCode(err) != modeldao.EINVALID {
			t.Errorf("%s: got %v, want EINVALID with %q", c.name, err, c.want)
		}
	}
}

func FuzzReadHeader(f *testing.F) {
	f.Add(file(f, []safetensors.Tensor{{Name: "a", Dtype: "F16", Shape: []uint64{3, 2}}, {Name: "b", Dtype: "U8", Shape: []uint64{5}}}), int64(0))
	f.Add([]byte("\x10\x00\x00\x00\x00\x00\x00\x00{\"a\":{}}        "), int64(24))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, int64(8))
	f.Fuzz(func(t *testing.T, b []byte, size int64) {
		if size < 0 {
			size = -size
		}
		h, err := safetensors.ReadHeader(bytes.NewReader(b), size)
		if err != nil {
			if modeldao.ErrorCode(err) != modeldao.EINVALID {
				t.Fatalf("hostile input gave a non-EINVALID error: %v", err)
			}
			return
		}
		fm := h.Format()
		if fm.TensorCount < 1 || fm.ParameterCount < 0 || h.Size > safetensors.MaxHeaderSize {
			t.Fatalf("accepted an impossible header: %+v", fm)
		}
	})
}
