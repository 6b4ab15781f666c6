package ppocr

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strconv"

	"google.golang.org/protobuf/encoding/protowire"
)

// PP-OCRv4's models, as exported, compute each convolution's "learnable
// affine block" (a multiply and an add by scalars) and each hard-swish
// (x·clip(x+3, 0, 6)/6) as separate element-wise nodes. ONNX Runtime fuses
// none of them and keeps none in its blocked (NCHWc) layout, so that every
// convolution pays up to eight passes over its output and two layout
// conversions: a third of the detector's time. fold rewrites the graph, with
// the same arithmetic, into what ONNX Runtime runs well:
//   - a scalar multiply and add right after a convolution go into its
//     weights and bias;
//   - a hard-swish becomes HardSigmoid(x; 1/6, ½)·x, which stays blocked;
//   - a scalar multiply and add before convolutions go into their weights
//     and bias where they are 1×1 without padding, else become one
//     depthwise 1×1 convolution (an add cannot go through zero padding).
//
// Only these patterns are touched, each where every condition holds (one
// consumer, constant scalars, float initialisers); any other model comes
// back as it was. The rewrite is exact up to float rounding: the readings
// of the tests' frames are the same.

// foldVersion names the rewrite in the cache key of optimised models: a
// change to fold makes them again.
const foldVersion = 1

// ONNX's protobuf field numbers used here (onnx.proto3).
const (
	modelGraph = 7

	graphNode        = 1
	graphInitializer = 5
	graphInput       = 11
	graphOutput      = 12
	graphValueInfo   = 13

	nodeInput     = 1
	nodeOutput    = 2
	nodeOpType    = 4
	nodeAttribute = 5

	attrName   = 1
	attrF      = 2
	attrI      = 3
	attrS      = 4
	attrT      = 5
	attrInts   = 8
	attrType   = 20
	attrFloat  = 1 // AttributeProto.AttributeType
	attrInt    = 2
	attrIntArr = 7

	tensorDims     = 1
	tensorDataType = 2
	tensorFloats   = 4
	tensorName     = 8
	tensorRaw      = 9
	tensorLocation = 14
	tensorFloat32  = 1 // TensorProto.DataType

	valueInfoNameField = 1
)

// foldMostChannels bounds the channels of a depthwise convolution fold
// makes (PP-OCRv4's layers have a few hundred): a model that claims more is left
// as it is rather than have fold allocate for it.
const foldMostChannels = 1 << 16

// foldStats counts fold's rewrites.
type foldStats struct {
	IntoConv, HardSwish, IntoNext, Depthwise int
}

// field is one encoded protobuf field: its number and its whole bytes (tag
// and value), kept to be written back as it was.
type field struct {
	num protowire.Number
	typ protowire.Type
	raw []byte
	val []byte // a length-delimited field's value
}

func parseFields(b []byte) ([]field, error) {
	var out []field
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, protowire.ParseError(n)
		}
		m := protowire.ConsumeFieldValue(num, typ, b[n:])
		if m < 0 {
			return nil, protowire.ParseError(m)
		}
		f := field{num: num, typ: typ, raw: b[:n+m]}
		if typ == protowire.BytesType {
			f.val, _ = protowire.ConsumeBytes(b[n:])
		}
		out = append(out, f)
		b = b[n+m:]
	}
	return out, nil
}

// node is a NodeProto: its inputs and outputs, its op, its attributes by
// name, and its other fields as they were.
type node struct {
	in, out []string
	op      string
	attrs   map[string]attribute
	rest    [][]byte // every field but inputs and outputs, encoded
}

// attribute is the part of an AttributeProto fold reads.
type attribute struct {
	f    float32
	i    int64
	ints []int64
	s    string
	t    []byte
}

func parseNode(b []byte) (*node, error) {
	fs, err := parseFields(b)
	if err != nil {
		return nil, err
	}
	n := &node{attrs: map[string]attribute{}}
	for _, f := range fs {
		switch {
		case f.num == nodeInput && f.typ == protowire.BytesType:
			n.in = append(n.in, string(f.val))
		case f.num == nodeOutput && f.typ == protowire.BytesType:
			n.out = append(n.out, string(f.val))
		default:
			n.rest = append(n.rest, f.raw)
			if f.num == nodeOpType && f.typ == protowire.BytesType {
				n.op = string(f.val)
			}
			if f.num == nodeAttribute && f.typ == protowire.BytesType {
				name, a, err := parseAttribute(f.val)
				if err != nil {
					return nil, err
				}
				n.attrs[name] = a
			}
		}
	}
	return n, nil
}

func parseAttribute(b []byte) (string, attribute, error) {
	fs, err := parseFields(b)
	if err != nil {
		return "", attribute{}, err
	}
	var name string
	var a attribute
	for _, f := range fs {
		switch f.num {
		case attrName:
			name = string(f.val)
		case attrF:
			if v, n := protowire.ConsumeFixed32(f.raw[protowire.SizeTag(f.num):]); n > 0 {
				a.f = math.Float32frombits(v)
			}
		case attrI:
			if v, n := protowire.ConsumeVarint(f.raw[protowire.SizeTag(f.num):]); n > 0 {
				a.i = int64(v)
			}
		case attrS:
			a.s = string(f.val)
		case attrT:
			a.t = f.val
		case attrInts:
			a.ints = append(a.ints, varints(f)...)
		}
	}
	return name, a, nil
}

// varints are the values of a repeated int64 field, packed or not.
func varints(f field) []int64 {
	var out []int64
	b := f.raw[protowire.SizeTag(f.num):]
	if f.typ == protowire.BytesType {
		b = f.val
	}
	for len(b) > 0 {
		v, n := protowire.ConsumeVarint(b)
		if n < 0 {
			break
		}
		out = append(out, int64(v))
		b = b[n:]
	}
	return out
}

func (n *node) encode() []byte {
	var b []byte
	for _, s := range n.in {
		b = protowire.AppendTag(b, nodeInput, protowire.BytesType)
		b = protowire.AppendString(b, s)
	}
	for _, s := range n.out {
		b = protowire.AppendTag(b, nodeOutput, protowire.BytesType)
		b = protowire.AppendString(b, s)
	}
	for _, r := range n.rest {
		b = append(b, r...)
	}
	return b
}

// newNode is a node of op with attributes already encoded (see floatAttr,
// intAttr, intsAttr).
func newNode(op string, in, out []string, attrs ...[]byte) *node {
	n := &node{in: in, out: out, op: op, attrs: map[string]attribute{}}
	var t []byte
	t = protowire.AppendTag(t, nodeOpType, protowire.BytesType)
	n.rest = append(n.rest, protowire.AppendString(t, op))
	for _, a := range attrs {
		var f []byte
		f = protowire.AppendTag(f, nodeAttribute, protowire.BytesType)
		n.rest = append(n.rest, protowire.AppendBytes(f, a))
	}
	return n
}

func attrHead(name string, typ uint64) []byte {
	var b []byte
	b = protowire.AppendTag(b, attrName, protowire.BytesType)
	b = protowire.AppendString(b, name)
	b = protowire.AppendTag(b, attrType, protowire.VarintType)
	return protowire.AppendVarint(b, typ)
}

func floatAttr(name string, v float32) []byte {
	b := attrHead(name, attrFloat)
	b = protowire.AppendTag(b, attrF, protowire.Fixed32Type)
	return protowire.AppendFixed32(b, math.Float32bits(v))
}

func intAttr(name string, v int64) []byte {
	b := attrHead(name, attrInt)
	b = protowire.AppendTag(b, attrI, protowire.VarintType)
	return protowire.AppendVarint(b, uint64(v))
}

func intsAttr(name string, vs ...int64) []byte {
	b := attrHead(name, attrIntArr)
	for _, v := range vs {
		b = protowire.AppendTag(b, attrInts, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(v))
	}
	return b
}

// tensor is a float initialiser: its dimensions and values.
type tensor struct {
	dims []int64
	data []float32
}

// parseFloatTensor reads a TensorProto of floats held in the model; ok is
// false for any other (another type, data stored outside).
func parseFloatTensor(b []byte) (name string, t tensor, ok bool) {
	fs, err := parseFields(b)
	if err != nil {
		return "", tensor{}, false
	}
	typ := int64(-1)
	var raw []byte
	for _, f := range fs {
		switch f.num {
		case tensorDims:
			t.dims = append(t.dims, varints(f)...)
		case tensorDataType:
			if v := varints(f); len(v) == 1 {
				typ = v[0]
			}
		case tensorName:
			name = string(f.val)
		case tensorRaw:
			raw = f.val
		case tensorFloats:
			b := f.val
			if f.typ == protowire.Fixed32Type {
				b = f.raw[protowire.SizeTag(f.num):]
			}
			for ; len(b) >= 4; b = b[4:] {
				t.data = append(t.data, math.Float32frombits(binary.LittleEndian.Uint32(b)))
			}
		case tensorLocation:
			return "", tensor{}, false
		}
	}
	if typ != tensorFloat32 {
		return "", tensor{}, false
	}
	if raw != nil {
		if len(raw)%4 != 0 {
			return "", tensor{}, false
		}
		t.data = make([]float32, len(raw)/4)
		for i := range t.data {
			t.data[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
	}
	size := int64(1)
	for _, d := range t.dims {
		size *= d
	}
	return name, t, int64(len(t.data)) == size
}

func (t tensor) encode(name string) []byte {
	var b []byte
	for _, d := range t.dims {
		b = protowire.AppendTag(b, tensorDims, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(d))
	}
	b = protowire.AppendTag(b, tensorDataType, protowire.VarintType)
	b = protowire.AppendVarint(b, tensorFloat32)
	b = protowire.AppendTag(b, tensorName, protowire.BytesType)
	b = protowire.AppendString(b, name)
	raw := make([]byte, 4*len(t.data))
	for i, v := range t.data {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	b = protowire.AppendTag(b, tensorRaw, protowire.BytesType)
	return protowire.AppendBytes(b, raw)
}

// graph is what fold works on: the nodes in order, the float initialisers
// (those it changes or adds, encoded anew), the graph's outputs.
type graph struct {
	nodes   []*node
	raw     map[string][]byte // every initialiser's and Constant's TensorProto
	floats  map[string]tensor // those read as floats so far (see float)
	added   map[string]tensor // initialisers fold made
	outputs map[string]bool
	fresh   int // the number of names fold made
	stats   foldStats
}

// fold rewrites an ONNX model's graph as the file's comment says; a model
// it cannot parse, or with nothing to fold, comes back as it was.
func fold(model []byte) ([]byte, foldStats, error) {
	fs, err := parseFields(model)
	if err != nil {
		return model, foldStats{}, fmt.Errorf("ppocr: fold: %w", err)
	}
	var out []byte
	var stats foldStats
	for _, f := range fs {
		if f.num != modelGraph || f.typ != protowire.BytesType {
			out = append(out, f.raw...)
			continue
		}
		g, st, err := foldGraph(f.val)
		if err != nil {
			return model, foldStats{}, fmt.Errorf("ppocr: fold: %w", err)
		}
		out = protowire.AppendTag(out, modelGraph, protowire.BytesType)
		out = protowire.AppendBytes(out, g)
		stats = st
	}
	return out, stats, nil
}

// foldGraph rewrites an encoded GraphProto.
func foldGraph(b []byte) ([]byte, foldStats, error) {
	fs, err := parseFields(b)
	if err != nil {
		return nil, foldStats{}, err
	}
	g := &graph{raw: map[string][]byte{}, floats: map[string]tensor{}, added: map[string]tensor{}, outputs: map[string]bool{}}
	names := make([]string, len(fs)) // an initialiser field's tensor name
	for i, f := range fs {
		switch f.num {
		case graphNode:
			n, err := parseNode(f.val)
			if err != nil {
				return nil, foldStats{}, err
			}
			g.nodes = append(g.nodes, n)
			if v, ok := n.attrs["value"]; n.op == "Constant" && len(n.out) == 1 && ok && v.t != nil {
				g.raw[n.out[0]] = v.t
			}
		case graphInitializer:
			names[i] = tensorNameOf(f.val)
			g.raw[names[i]] = f.val
		case graphOutput:
			if name, ok := valueInfoName(f.val); ok {
				g.outputs[name] = true
			}
		}
	}
	g.rewrite()
	used := map[string]bool{}
	made := map[string]bool{}
	for _, n := range g.nodes {
		for _, s := range n.in {
			used[s] = true
		}
		for _, s := range n.out {
			made[s] = true
		}
	}
	for s := range g.outputs {
		used[s] = true
	}
	var out []byte
	wroteNodes := false
	for i, f := range fs {
		switch f.num {
		case graphNode:
			if !wroteNodes {
				wroteNodes = true
				for _, n := range g.nodes {
					if n.op == "Constant" && len(n.out) == 1 && !used[n.out[0]] {
						continue
					}
					out = protowire.AppendTag(out, graphNode, protowire.BytesType)
					out = protowire.AppendBytes(out, n.encode())
				}
			}
		case graphInitializer:
			if used[names[i]] {
				out = append(out, f.raw...)
			}
		case graphInput:
			// Older exports list initialisers among the inputs: one fold
			// left unused goes with it.
			if name, ok := valueInfoName(f.val); !ok || used[name] {
				out = append(out, f.raw...)
			}
		case graphValueInfo:
			if name, ok := valueInfoName(f.val); !ok || made[name] || used[name] {
				out = append(out, f.raw...)
			}
		default:
			out = append(out, f.raw...)
		}
	}
	added := make([]string, 0, len(g.added))
	for name := range g.added {
		added = append(added, name)
	}
	slices.Sort(added)
	for _, name := range added {
		if used[name] {
			out = protowire.AppendTag(out, graphInitializer, protowire.BytesType)
			out = protowire.AppendBytes(out, g.added[name].encode(name))
		}
	}
	return out, g.stats, nil
}

func tensorNameOf(b []byte) string {
	fs, _ := parseFields(b)
	for _, f := range fs {
		if f.num == tensorName && f.typ == protowire.BytesType {
			return string(f.val)
		}
	}
	return ""
}

func valueInfoName(b []byte) (string, bool) {
	fs, err := parseFields(b)
	if err != nil {
		return "", false
	}
	for _, f := range fs {
		if f.num == valueInfoNameField && f.typ == protowire.BytesType {
			return string(f.val), true
		}
	}
	return "", false
}

// consumers are, by tensor name, the nodes that read it.
func (g *graph) consumers() map[string][]*node {
	c := map[string][]*node{}
	for _, n := range g.nodes {
		for _, s := range n.in {
			c[s] = append(c[s], n)
		}
	}
	return c
}

// float is the float initialiser or Constant named s, read the first time
// it is asked for.
func (g *graph) float(s string) (tensor, bool) {
	if t, ok := g.floats[s]; ok {
		return t, true
	}
	raw, ok := g.raw[s]
	if !ok {
		return tensor{}, false
	}
	_, t, ok := parseFloatTensor(raw)
	if ok {
		g.floats[s] = t
	}
	return t, ok
}

// constant reports whether s is an initialiser or a Constant's output.
func (g *graph) constant(s string) bool {
	_, ok := g.raw[s]
	return ok
}

// scalar is the value of a one-element float constant named s.
func (g *graph) scalar(s string) (float32, bool) {
	t, ok := g.float(s)
	if !ok || len(t.data) != 1 {
		return 0, false
	}
	return t.data[0], true
}

// scaled is n, a binary op of a tensor and a scalar constant: the tensor's
// name and the scalar.
func (g *graph) scaled(n *node) (string, float32, bool) {
	if len(n.in) != 2 || len(n.out) != 1 {
		return "", 0, false
	}
	for i, s := range n.in {
		if v, ok := g.scalar(n.in[1-i]); ok {
			if !g.constant(s) {
				return s, v, true
			}
		}
	}
	return "", 0, false
}

// only is the one consumer of tensor s, if it has exactly one and is not
// a graph output.
func (g *graph) only(c map[string][]*node, s, op string) *node {
	if ns := c[s]; len(ns) == 1 && ns[0].op == op && !g.outputs[s] {
		return ns[0]
	}
	return nil
}

// name makes a new tensor name from s.
func (g *graph) name(s string) string {
	g.fresh++
	return s + "_fold" + strconv.Itoa(g.fresh)
}

func (g *graph) remove(ns ...*node) {
	g.nodes = slices.DeleteFunc(g.nodes, func(n *node) bool { return slices.Contains(ns, n) })
}

func (g *graph) rewrite() {
	for g.affineIntoConv() {
	}
	for g.hardSwish() {
	}
	for g.affineBeforeConv() {
	}
}

// affine matches an affine block at Mul node mul: Mul(x, s) read only by
// Add(·, a), s and a scalar constants.
func (g *graph) affine(c map[string][]*node, mul *node) (x string, s, a float32, add *node, ok bool) {
	x, s, ok = g.scaled(mul)
	if !ok {
		return "", 0, 0, nil, false
	}
	if add = g.only(c, mul.out[0], "Add"); add == nil {
		return "", 0, 0, nil, false
	}
	if _, a, ok = g.scaled(add); !ok {
		return "", 0, 0, nil, false
	}
	return x, s, a, add, true
}

// affineIntoConv folds one Conv → Mul(scalar) → Add(scalar) into the Conv;
// false when there is none left.
func (g *graph) affineIntoConv() bool {
	c := g.consumers()
	for _, n := range g.nodes {
		if n.op != "Conv" || len(n.in) != 3 || len(n.out) != 1 {
			continue
		}
		w, okW := g.float(n.in[1])
		bias, okB := g.float(n.in[2])
		if !okW || !okB || len(w.dims) == 0 || int64(len(bias.data)) != w.dims[0] {
			continue
		}
		mul := g.only(c, n.out[0], "Mul")
		if mul == nil {
			continue
		}
		_, s, a, add, ok := g.affine(c, mul)
		if !ok {
			continue
		}
		nw := tensor{dims: w.dims, data: make([]float32, len(w.data))}
		for i, v := range w.data {
			nw.data[i] = v * s
		}
		nb := tensor{dims: bias.dims, data: make([]float32, len(bias.data))}
		for i, v := range bias.data {
			nb.data[i] = v*s + a
		}
		n.in[1], n.in[2] = g.add(n.in[1], nw), g.add(n.in[2], nb)
		n.out[0] = add.out[0]
		g.remove(mul, add)
		g.stats.IntoConv++
		return true
	}
	return false
}

// add keeps t as a new initialiser named after s and returns its name.
func (g *graph) add(s string, t tensor) string {
	name := g.name(s)
	g.added[name] = t
	g.floats[name] = t
	g.raw[name] = nil // a constant, read from floats
	return name
}

// hardSwish rewrites one Add(x, 3) → Clip(0, 6) → Mul(x, ·) → Div(6) as
// HardSigmoid(x; 1/6, ½) → Mul(x, ·); false when there is none left.
func (g *graph) hardSwish() bool {
	c := g.consumers()
	for i, n := range g.nodes {
		if n.op != "Add" {
			continue
		}
		x, three, ok := g.scaled(n)
		if !ok || three != 3 {
			continue
		}
		clip := g.only(c, n.out[0], "Clip")
		if clip == nil || !g.clipsTo(clip, 0, 6) {
			continue
		}
		mul := g.only(c, clip.out[0], "Mul")
		if mul == nil || len(mul.in) != 2 || !slices.Contains(mul.in, x) || len(mul.out) != 1 {
			continue
		}
		div := g.only(c, mul.out[0], "Div")
		if div == nil || len(div.in) != 2 || div.in[0] != mul.out[0] {
			continue
		}
		if six, ok := g.scalar(div.in[1]); !ok || six != 6 {
			continue
		}
		hs := g.name(x)
		sig := newNode("HardSigmoid", []string{x}, []string{hs}, floatAttr("alpha", 1.0/6), floatAttr("beta", 0.5))
		prod := newNode("Mul", []string{x, hs}, []string{div.out[0]})
		g.nodes = slices.Insert(g.nodes, i, sig, prod)
		g.remove(n, clip, mul, div)
		g.stats.HardSwish++
		return true
	}
	return false
}

// clipsTo reports whether Clip node n bounds its input to [lo, hi], by
// attributes (opset < 11) or constant inputs.
func (g *graph) clipsTo(n *node, lo, hi float32) bool {
	if len(n.out) != 1 {
		return false
	}
	if len(n.in) == 1 {
		mn, okMin := n.attrs["min"]
		mx, okMax := n.attrs["max"]
		return okMin && okMax && mn.f == lo && mx.f == hi
	}
	if len(n.in) != 3 {
		return false
	}
	mn, okMin := g.scalar(n.in[1])
	mx, okMax := g.scalar(n.in[2])
	return okMin && okMax && mn == lo && mx == hi
}

// affineBeforeConv folds one Mul(scalar) → Add(scalar) read only by
// Convs: into their weights where each is 1×1 without padding, else into
// a depthwise 1×1 Conv; false when there is none left.
func (g *graph) affineBeforeConv() bool {
	c := g.consumers()
	for i, n := range g.nodes {
		if n.op != "Mul" {
			continue
		}
		x, s, a, add, ok := g.affine(c, n)
		if !ok {
			continue
		}
		y := add.out[0]
		convs := c[y]
		channels, pointwise := int64(-1), true
		for _, cv := range convs {
			if cv.op != "Conv" || len(cv.in) < 2 || cv.in[0] != y || slices.Contains(cv.in[1:], y) {
				channels = -1
				break
			}
			w, ok := g.float(cv.in[1])
			if !ok || len(w.dims) != 4 {
				channels = -1
				break
			}
			group := int64(1)
			if at, ok := cv.attrs["group"]; ok {
				group = at.i
			}
			ch := w.dims[1] * group
			if channels >= 0 && ch != channels {
				channels = -1
				break
			}
			channels = ch
			pointwise = pointwise && group == 1 && w.dims[0] > 0 && w.dims[2] == 1 && w.dims[3] == 1 && unpadded(cv)
			if len(cv.in) == 3 {
				if b, ok := g.float(cv.in[2]); !ok || int64(len(b.data)) != w.dims[0] {
					pointwise = false
				}
			}
		}
		if len(convs) == 0 || channels <= 0 || channels > foldMostChannels || g.outputs[y] {
			continue
		}
		if pointwise {
			for _, cv := range convs {
				w, _ := g.float(cv.in[1])
				out, per := w.dims[0], len(w.data)/int(w.dims[0])
				nw := tensor{dims: w.dims, data: make([]float32, len(w.data))}
				nb := tensor{dims: []int64{out}, data: make([]float32, out)}
				if len(cv.in) == 3 {
					b, _ := g.float(cv.in[2])
					copy(nb.data, b.data)
				}
				for o := range int(out) {
					var sum float32
					for k := range per {
						v := w.data[o*per+k]
						nw.data[o*per+k] = v * s
						sum += v
					}
					nb.data[o] += a * sum
				}
				bname := g.add(cv.in[1]+"_bias", nb)
				cv.in = []string{x, g.add(cv.in[1], nw), bname}
			}
			g.remove(n, add)
			g.stats.IntoNext++
			return true
		}
		w := tensor{dims: []int64{channels, 1, 1, 1}, data: make([]float32, channels)}
		b := tensor{dims: []int64{channels}, data: make([]float32, channels)}
		for k := range w.data {
			w.data[k], b.data[k] = s, a
		}
		dw := newNode("Conv", []string{x, g.add(y+"_w", w), g.add(y+"_b", b)}, []string{y},
			intAttr("group", channels), intsAttr("kernel_shape", 1, 1))
		g.nodes[i] = dw
		g.remove(add)
		g.stats.Depthwise++
		return true
	}
	return false
}

// unpadded reports whether Conv node n pads nothing.
func unpadded(n *node) bool {
	if ap, ok := n.attrs["auto_pad"]; ok && ap.s != "" && ap.s != "NOTSET" && ap.s != "VALID" {
		return false
	}
	for _, p := range n.attrs["pads"].ints {
		if p != 0 {
			return false
		}
	}
	return true
}
