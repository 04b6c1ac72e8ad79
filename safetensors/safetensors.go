// Package safetensors reads the header of a safetensors file (the format of Hugging Face
// weights): an 8-byte little-endian header length N, then N bytes of JSON that map each
// tensor's name to its dtype, shape and data offsets, plus an optional "__metadata__" map of
// strings; the tensors' bytes follow. Only the header is read, never the tensors, so a
// shard of any size is summarized from its first bytes.
//
// The header comes from whoever published the file: its length is bounded (MaxHeaderSize),
// every number is checked for overflow, and offsets must lie inside the data and agree with
// dtype and shape. Anything else is an EINVALID error that says what is wrong.
package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"slices"
	"sort"

	"github.com/modeldao/modeldao"
)

// MaxHeaderSize bounds the JSON header, as the reference implementation does (100 MB).
const MaxHeaderSize = 100 << 20

// MaxTensors bounds the tensors of one file.
const MaxTensors = 1 << 20

// dtypeBits is the width of each dtype the format defines.
var dtypeBits = map[string]uint64{
	"BOOL": 8, "U8": 8, "I8": 8, "F8_E5M2": 8, "F8_E4M3": 8, "F8_E8M0": 8,
	"I16": 16, "U16": 16, "F16": 16, "BF16": 16,
	"I32": 32, "U32": 32, "F32": 32,
	"I64": 64, "U64": 64, "F64": 64,
	"C64": 64, "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6,
}

// Tensor is one tensor of the header.
type Tensor struct {
	Name        string
	Dtype       string
	Shape       []uint64
	DataOffsets [2]uint64
}

// Params is the tensor's element count.
func (t Tensor) Params() uint64 {
	n := uint64(1)
	for _, d := range t.Shape {
		n *= d // checked for overflow by Parse
	}
	return n
}

// Header is a parsed header.
type Header struct {
	Size     uint64 // bytes of JSON (without the 8-byte length)
	Tensors  []Tensor
	Metadata map[string]string
}

// DataStart is the offset in the file at which the tensors' bytes begin.
func (h *Header) DataStart() uint64 { return 8 + h.Size }

// Format summarizes the header: dtypes (sorted), tensor count and parameter count.
func (h *Header) Format() modeldao.FileFormat {
	f := modeldao.FileFormat{Format: "safetensors", Dtypes: []string{}, TensorCount: int64(len(h.Tensors))}
	for _, t := range h.Tensors {
		f.ParameterCount += int64(t.Params())
		if !slices.Contains(f.Dtypes, t.Dtype) {
			f.Dtypes = append(f.Dtypes, t.Dtype)
		}
	}
	slices.Sort(f.Dtypes)
	return f
}

// ReadHeader reads and parses the header at the start of r. fileSize, if > 0, is the size
// of the whole file: then the tensors' data must fit in it exactly. ReadHeader reads no more
// than 8 + the header's length from r.
func ReadHeader(r io.Reader, fileSize int64) (*Header, error) {
	var lb [8]byte
	if _, err := io.ReadFull(r, lb[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, modeldao.Errorf(modeldao.EINVALID, "not a safetensors file: shorter than the 8-byte header length")
		}
		return nil, err
	}
	n := binary.LittleEndian.Uint64(lb[:])
	if n < 2 || n > MaxHeaderSize {
		return nil, modeldao.Errorf(modeldao.EINVALID, "not a safetensors file: header length %d is outside 2..%d", n, MaxHeaderSize)
	}
	if fileSize > 0 && uint64(fileSize) < 8+n {
		return nil, modeldao.Errorf(modeldao.EINVALID, "safetensors header length %d is larger than the file (%d bytes)", n, fileSize)
	}
	// Grow the buffer as bytes arrive rather than trusting n for one allocation.
	var buf bytes.Buffer
	if _, err := io.CopyN(&buf, r, int64(n)); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, modeldao.Errorf(modeldao.EINVALID, "safetensors header is truncated: %d of %d bytes", buf.Len(), n)
		}
		return nil, err
	}
	var dataSize uint64
	if fileSize > 0 {
		dataSize = uint64(fileSize) - 8 - n
	}
	return Parse(buf.Bytes(), dataSize, fileSize > 0)
}

// Parse parses the JSON header b. With checkData, the tensors must cover exactly dataSize
// bytes of data, without gaps or overlaps.
func Parse(b []byte, dataSize uint64, checkData bool) (*Header, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, modeldao.WrapError(modeldao.EINVALID, err, "safetensors header is not a JSON object")
	}
	if len(raw) > MaxTensors+1 {
		return nil, modeldao.Errorf(modeldao.EINVALID, "safetensors header lists %d tensors: at most %d are supported", len(raw)-1, MaxTensors)
	}
	h := &Header{Size: uint64(len(b))}
	for name, v := range raw {
		if name == "__metadata__" {
			if err := json.Unmarshal(v, &h.Metadata); err != nil {
				return nil, modeldao.WrapError(modeldao.EINVALID, err, "safetensors __metadata__ is not a map of strings")
			}
			continue
		}
		var t struct {
			Dtype       *string   `json:"dtype"`
			Shape       *[]uint64 `json:"shape"`
			DataOffsets *[]uint64 `json:"data_offsets"`
		}
		dec := json.NewDecoder(bytes.NewReader(v))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&t); err != nil {
			return nil, modeldao.WrapError(modeldao.EINVALID, err, "safetensors tensor %q: want {dtype, shape, data_offsets}", name)
		}
		if t.Dtype == nil || t.Shape == nil || t.DataOffsets == nil {
			return nil, modeldao.Errorf(modeldao.EINVALID, "safetensors tensor %q: dtype, shape and data_offsets are all required", name)
		}
		w, ok := dtypeBits[*t.Dtype]
		if !ok {
			return nil, modeldao.Errorf(modeldao.EINVALID, "safetensors tensor %q: unknown dtype %q", name, *t.Dtype)
		}
		if len(*t.DataOffsets) != 2 {
			return nil, modeldao.Errorf(modeldao.EINVALID, "safetensors tensor %q: data_offsets must be [begin, end]", name)
		}
		if len(*t.Shape) > 64 {
			return nil, modeldao.Errorf(modeldao.EINVALID, "safetensors tensor %q: %d dimensions, at most 64", name, len(*t.Shape))
		}
		elems := uint64(1)
		for _, d := range *t.Shape {
			hi, lo := bits.Mul64(elems, d)
			if hi != 0 || lo > math.MaxInt64/64 {
				return nil, modeldao.Errorf(modeldao.EINVALID, "safetensors tensor %q: shape %v has too many elements", name, *t.Shape)
			}
			elems = lo
		}
		off := [2]uint64{(*t.DataOffsets)[0], (*t.DataOffsets)[1]}
		if off[1] < off[0] {
			return nil, modeldao.Errorf(modeldao.EINVALID, "safetensors tensor %q: data_offsets [%d, %d] end before they begin", name, off[0], off[1])
		}
		if bitsN := elems * w; (bitsN+7)/8 != off[1]-off[0] {
			return nil, modeldao.Errorf(modeldao.EINVALID, "safetensors tensor %q: %s %v needs %d bytes but data_offsets [%d, %d] hold %d", name, *t.Dtype, *t.Shape, (bitsN+7)/8, off[0], off[1], off[1]-off[0])
		}
		h.Tensors = append(h.Tensors, Tensor{Name: name, Dtype: *t.Dtype, Shape: *t.Shape, DataOffsets: off})
	}
	if len(h.Tensors) == 0 {
		return nil, modeldao.Errorf(modeldao.EINVALID, "safetensors header lists no tensors")
	}
	sort.Slice(h.Tensors, func(i, j int) bool {
		a, b := h.Tensors[i], h.Tensors[j]
		if a.DataOffsets[0] != b.DataOffsets[0] {
			return a.DataOffsets[0] < b.DataOffsets[0]
		}
		return a.DataOffsets[1] < b.DataOffsets[1]
	})
	var end, total uint64
	for _, t := range h.Tensors {
		if total += t.Params(); total > math.MaxInt64/64 {
			return nil, modeldao.Errorf(modeldao.EINVALID, "safetensors header: the tensors have too many elements in total")
		}
		if t.DataOffsets[0] < end {
			return nil, modeldao.Errorf(modeldao.EINVALID, "safetensors tensor %q overlaps the tensor before it (data_offsets [%d, %d])", t.Name, t.DataOffsets[0], t.DataOffsets[1])
		}
		if checkData && t.DataOffsets[0] != end {
			return nil, modeldao.Errorf(modeldao.EINVALID, "safetensors data has a gap before tensor %q (offset %d, previous end %d)", t.Name, t.DataOffsets[0], end)
		}
		end = t.DataOffsets[1]
	}
	if checkData && end != dataSize {
		return nil, modeldao.Errorf(modeldao.EINVALID, "safetensors tensors cover %d bytes of data but the file holds %d after the header", end, dataSize)
	}
	return h, nil
}

// Encode returns the header bytes (length and JSON) of tensors laid out one after the
// other in the given order, with metadata; the caller writes the tensors' data after it. It
// is what tests and demo data use to write real safetensors files.
func Encode(tensors []Tensor, metadata map[string]string) ([]byte, error) {
	obj := map[string]any{}
	if metadata != nil {
		obj["__metadata__"] = metadata
	}
	var off uint64
	for _, t := range tensors {
		w, ok := dtypeBits[t.Dtype]
		if !ok {
			return nil, fmt.Errorf("unknown dtype %q", t.Dtype)
		}
		n := (t.Params()*w + 7) / 8
		obj[t.Name] = map[string]any{"dtype": t.Dtype, "shape": t.Shape, "data_offsets": []uint64{off, off + n}}
		off += n
	}
	js, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	// Pad with spaces to a multiple of 8, as the reference implementation does.
	for len(js)%8 != 0 {
		js = append(js, ' ')
	}
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(js)))
	return append(out, js...), nil
}

// DataSize is the number of data bytes that Encode's tensors take.
func DataSize(tensors []Tensor) uint64 {
	var off uint64
	for _, t := range tensors {
		off += (t.Params()*dtypeBits[t.Dtype] + 7) / 8
	}
	return off
}
